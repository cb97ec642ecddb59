//! Scenario files: a directory under `tests/scenarios/<name>/` holding
//! `objects.yaml` (real Kubernetes objects, as `kubectl get -o yaml` prints them:
//! one or more YAML documents, each an object or a `kind: List`) and an optional
//! `scenario.yaml` (what the cluster serves, what the user may not read, logs and
//! metric history). The cluster simulator serves the objects; the Prometheus
//! harness derives kube-state-metrics series from them, so both always agree.
//! Objects may give times relative to the test run: any string that is exactly
//! `$NOW`, `$NOW-120s` or `$NOW+2m` (units `s`, `m`, `h`, `d`) becomes that
//! RFC 3339 time when the cluster simulator starts (`sim::resolve_times`).

use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A whole scenario: the objects the simulator serves plus its metadata.
#[derive(Debug, Clone, Default)]
pub struct Scenario {
    pub name: String,
    pub objects: Vec<Value>,
    pub meta: ScenarioMeta,
}

/// `scenario.yaml`. Every field is optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScenarioMeta {
    #[serde(default)]
    pub description: String,
    /// Another scenario whose objects this one starts from: each object of
    /// this scenario's `objects.yaml` replaces the base object of the same
    /// kind, namespace and name, or is added; the base's `logs` are kept when
    /// this scenario gives none. Nothing else is inherited.
    #[serde(default)]
    pub base: Option<String>,
    /// Objects of the base left out, as `Kind namespace/name` (`Kind name`
    /// for cluster-scoped ones): another install shape moves them.
    #[serde(default)]
    pub remove: Vec<String>,
    /// Which optional API groups the simulated cluster serves (discovery and
    /// REST): any of `keda` (keda.sh/v1alpha1), `karpenter` (karpenter.sh/v1)
    /// and `karpenter-v1beta1` (karpenter.sh/v1beta1, Karpenter before 1.0).
    #[serde(default = "default_installed")]
    pub installed: Vec<String>,
    /// The Kubernetes minor the API server is, `"1.33"` to `"1.37"`: its
    /// `/version`, the HPA fields it keeps (`behavior.*.tolerance` only from
    /// 1.35) and its deprecation warnings (`sim::version`). Tests may set it
    /// on a loaded scenario to run one scenario at several versions.
    #[serde(default = "default_kubernetes")]
    pub kubernetes: String,
    /// The KEDA release the install runs, e.g. `"2.20.2"`: the `kedacore/keda*`
    /// image tags and the chart's `app.kubernetes.io/version` /
    /// `helm.sh/chart: keda-X` labels of every object (the base's included)
    /// are set to it. Absent: whatever the objects say.
    #[serde(default)]
    pub keda: Option<String>,
    /// The user name the bearer token maps to (used in 403 messages).
    #[serde(default = "default_user")]
    pub user: String,
    /// Requests the user is not allowed to make (answered with a real 403 Status).
    #[serde(default)]
    pub forbidden: Vec<Forbidden>,
    /// Container logs: key `namespace/pod/container`, value the log text.
    #[serde(default)]
    pub logs: BTreeMap<String, String>,
    #[serde(default)]
    pub metrics: MetricsSpec,
}

impl Default for ScenarioMeta {
    fn default() -> Self {
        ScenarioMeta {
            description: String::new(),
            base: None,
            remove: Vec::new(),
            installed: default_installed(),
            kubernetes: default_kubernetes(),
            keda: None,
            user: default_user(),
            forbidden: Vec::new(),
            logs: BTreeMap::new(),
            metrics: MetricsSpec::default(),
        }
    }
}

fn default_installed() -> Vec<String> {
    vec!["keda".into(), "karpenter".into()]
}

/// The oldest minor in upstream support on 2026-12-07 (1.35, 1.36, 1.37);
/// the scenarios' nodes run kubelet 1.33, within the kubelet's n-3 skew.
fn default_kubernetes() -> String {
    "1.35".into()
}

fn default_user() -> String {
    "alice".into()
}

/// One denied request: `verb` (get, list, watch), `resource` (plural),
/// `group` ("" for the core group), and optionally a namespace (absent = all).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Forbidden {
    pub verb: String,
    pub resource: String,
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub namespace: Option<String>,
}

/// The metric history a scenario's Prometheus holds.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MetricsSpec {
    /// Active sessions: `nginx_http_requests_total{service=<nginxService>}` grows by
    /// this many requests per second (each session sends ~1 req/s). `None`: the
    /// series does not exist at all (the "no metric" break).
    #[serde(default)]
    pub sessions: Option<f64>,
    #[serde(default = "default_nginx_service")]
    pub nginx_service: String,
    /// Derive kube-state-metrics series (`kube_pod_status_phase`,
    /// `kube_pod_container_status_waiting_reason`, `kube_node_info`,
    /// `kube_deployment_status_replicas`) from the objects.
    #[serde(default = "yes")]
    pub kube_state_metrics: bool,
    /// Extra series, verbatim.
    #[serde(default)]
    pub series: Vec<SeriesSpec>,
    /// Seconds between the backfilled samples of every series: the scrape
    /// interval (default 15; Prometheus's own default is 60).
    #[serde(default)]
    pub scrape_interval_seconds: Option<i64>,
}

impl Default for MetricsSpec {
    fn default() -> Self {
        MetricsSpec {
            sessions: None,
            nginx_service: default_nginx_service(),
            kube_state_metrics: true,
            series: Vec::new(),
            scrape_interval_seconds: None,
        }
    }
}

fn default_nginx_service() -> String {
    "spice-runner-nginx".into()
}

fn yes() -> bool {
    true
}

/// A series with a constant value (gauge) or a constant rate per second (counter).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SeriesSpec {
    pub name: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub value: Option<f64>,
    #[serde(default)]
    pub rate: Option<f64>,
}

/// The directory that holds every scenario.
pub fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios")
}

impl Scenario {
    /// Loads `tests/scenarios/<name>`; panics with the file name on any error,
    /// since a broken scenario is a broken test.
    pub fn load(name: &str) -> Scenario {
        let dir = scenarios_dir().join(name);
        let objects_path = dir.join("objects.yaml");
        let text = std::fs::read_to_string(&objects_path)
            .unwrap_or_else(|e| panic!("{}: {e}", objects_path.display()));
        let mut objects = Vec::new();
        for doc in serde_norway::Deserializer::from_str(&text) {
            let value: Value = Value::deserialize(doc)
                .unwrap_or_else(|e| panic!("{}: {e}", objects_path.display()));
            push_objects(value, &mut objects);
        }
        let meta_path = dir.join("scenario.yaml");
        let meta = match std::fs::read_to_string(&meta_path) {
            Ok(text) => serde_norway::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: {e}", meta_path.display())),
            Err(_) => ScenarioMeta::default(),
        };
        let mut meta = meta;
        if let Some(base) = &meta.base {
            let mut base = Scenario::load(base);
            base.objects
                .retain(|o| !meta.remove.contains(&object_key(o)));
            objects = overlay(base.objects, objects);
            if meta.logs.is_empty() {
                meta.logs = base.meta.logs;
            }
        }
        if let Some(version) = &meta.keda {
            for o in &mut objects {
                set_keda_version(o, version);
            }
        }
        Scenario {
            name: name.to_string(),
            objects,
            meta,
        }
    }

    /// The KEDA release the operator's pods run, from their image tag
    /// (`.../kedacore/keda:2.19.0` → `2.19.0`); `None` without KEDA.
    pub fn keda_version(&self) -> Option<String> {
        self.of_kind("Pod")
            .flat_map(|p| p["spec"]["containers"].as_array().into_iter().flatten())
            .filter_map(|c| c["image"].as_str())
            .find_map(|i| {
                let (repo, tag) = i.rsplit_once(':')?;
                repo.ends_with("/kedacore/keda").then(|| tag.to_string())
            })
    }

    /// A scenario built in code (for tests that assemble objects themselves).
    pub fn from_objects(name: &str, objects: Vec<Value>, meta: ScenarioMeta) -> Scenario {
        let mut flat = Vec::new();
        for o in objects {
            push_objects(o, &mut flat);
        }
        Scenario {
            name: name.to_string(),
            objects: flat,
            meta,
        }
    }

    /// Objects of one kind, in file order.
    /// The healthy scenario scaled to `pods` running game pods (copies of
    /// its first) on `nodes` nodes (copies of its first node), with as many
    /// sessions as pods: a steady, green cluster of any size for benchmarks.
    pub fn healthy_scaled(pods: usize, nodes: usize) -> Scenario {
        let mut s = Scenario::load("healthy");
        let is_game_pod =
            |o: &Value| o["kind"] == "Pod" && o["metadata"]["labels"]["app"] == "spice-runner";
        let pod = s
            .objects
            .iter()
            .find(|o| is_game_pod(o))
            .cloned()
            .expect("a spice-runner pod");
        let node = s.of_kind("Node").next().cloned().expect("a node");
        s.objects.retain(|o| !is_game_pod(o));
        let existing_nodes = s.of_kind("Node").count();
        for i in 0..pods {
            let mut p = pod.clone();
            p["metadata"]["name"] = format!("spice-runner-7d9c8b5f4-b{i:04}").into();
            p["metadata"]["uid"] = Value::Null;
            s.objects.push(p);
        }
        for i in existing_nodes..nodes {
            let mut n = node.clone();
            n["metadata"]["name"] =
                format!("ip-10-0-{}-{}.us-west-2.compute.internal", i / 250, i % 250).into();
            n["metadata"]["uid"] = Value::Null;
            s.objects.push(n);
        }
        s.meta.metrics.sessions = Some(pods as f64);
        s
    }

    pub fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.objects.iter().filter(move |o| o["kind"] == kind)
    }

    pub fn installed(&self, api: &str) -> bool {
        self.meta.installed.iter().any(|a| a == api)
    }
}

fn push_objects(value: Value, out: &mut Vec<Value>) {
    if value.is_null() {
        return;
    }
    if value["kind"] == "List" || value["kind"].as_str().is_some_and(|k| k.ends_with("List")) {
        if let Some(items) = value["items"].as_array() {
            for item in items {
                out.push(item.clone());
            }
        }
    } else {
        out.push(value);
    }
}

/// `kedacore/keda*` image tags and KEDA's chart labels, anywhere in `v`
/// (pods, and the pod templates of Deployments and ReplicaSets), set to
/// `version`.
fn set_keda_version(v: &mut Value, version: &str) {
    match v {
        Value::String(s) => {
            if let Some((repo, _)) = s.rsplit_once(':')
                && repo.contains("/kedacore/keda")
                && !repo.contains('@')
            {
                *s = format!("{repo}:{version}");
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| set_keda_version(i, version)),
        Value::Object(map) => {
            let chart = map
                .get("helm.sh/chart")
                .and_then(Value::as_str)
                .is_some_and(|c| c.starts_with("keda-"));
            if chart {
                map.insert("helm.sh/chart".into(), format!("keda-{version}").into());
                if map.contains_key("app.kubernetes.io/version") {
                    map.insert("app.kubernetes.io/version".into(), version.into());
                }
            }
            map.values_mut().for_each(|i| set_keda_version(i, version));
        }
        _ => {}
    }
}

/// `Kind namespace/name`, or `Kind name` for a cluster-scoped object.
fn object_key(o: &Value) -> String {
    let kind = o["kind"].as_str().unwrap_or_default();
    let name = o["metadata"]["name"].as_str().unwrap_or_default();
    match o["metadata"]["namespace"].as_str() {
        Some(ns) => format!("{kind} {ns}/{name}"),
        None => format!("{kind} {name}"),
    }
}

/// `base` with every object of `over` replacing the one of the same kind,
/// namespace and name, or appended; the base's order is kept.
fn overlay(mut base: Vec<Value>, over: Vec<Value>) -> Vec<Value> {
    let key = |o: &Value| {
        (
            o["kind"].clone(),
            o["metadata"]["namespace"].clone(),
            o["metadata"]["name"].clone(),
        )
    };
    for o in over {
        match base.iter_mut().find(|b| key(b) == key(&o)) {
            Some(slot) => *slot = o,
            None => base.push(o),
        }
    }
    base
}
