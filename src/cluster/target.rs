//! The game's Deployment from the ScaledObject's `scaleTargetRef` (issue 19
//! item 6). KEDA scales what `scaleTargetRef` names; when that is a
//! Deployment other than the configured one and the `deployment` setting was
//! not given, the collect step reads that Deployment instead, takes the pod
//! selector from its `spec.selector` (unless `selector` was given) and re-reads
//! the game pods with it. A StatefulSet is followed the same way for its pod
//! selector and pod names (`<name>-<ordinal>`); the Deployment checks do not
//! apply to it. The first wave reads the configured names, so the usual
//! install (the target is the configured Deployment) costs nothing.

use super::collect::read;
use super::error::{Failure, ReadTarget};
use super::lenient::Lenient;
use super::lists;
use super::wire;
use crate::settings::Settings;
use crate::snapshot::{Gap, GapReason, TargetFound};
use kube::api::{Api, DynamicObject, ListParams};
use std::time::Duration;

/// What the discovered source of the `deployment` and `selector` settings says.
pub const FROM_SCALE_TARGET: &str = "ScaledObject scaleTargetRef";

/// The most of a selector built from a Deployment that is used.
const MAX_SELECTOR: usize = 1024;

/// `spec.scaleTargetRef` of a ScaledObject: kind (KEDA's default
/// `Deployment`), apiVersion (default `apps/v1`) and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaleTarget {
    pub api_version: String,
    pub kind: String,
    pub name: String,
}

pub fn scale_target(so: &serde_json::Value) -> Option<ScaleTarget> {
    let t = &so["spec"]["scaleTargetRef"];
    let name = t["name"].as_str().filter(|n| is_dns_subdomain(n))?;
    Some(ScaleTarget {
        api_version: t["apiVersion"]
            .as_str()
            .filter(|s| !s.is_empty())
            .unwrap_or("apps/v1")
            .to_string(),
        kind: t["kind"]
            .as_str()
            .filter(|s| !s.is_empty())
            .unwrap_or("Deployment")
            .to_string(),
        name: name.to_string(),
    })
}

pub fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
}

/// The HPA the ScaledObject names (`status.hpaName`, else
/// `spec.advanced.horizontalPodAutoscalerConfig.name`), as the Snapshot
/// reads it (`ScaledObjectInfo::keda_hpa_name`); `None`: KEDA's default.
pub fn hpa_name(so: &DynamicObject) -> Option<String> {
    super::convert::scaled_object(&so.data)
        .keda_hpa_name()
        .map(str::to_string)
}

/// The workload to follow instead of the configured Deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Follow {
    /// A Deployment of another name.
    Deployment(String),
    /// A StatefulSet (any name: its pods are named differently).
    StatefulSet(String),
}

impl Follow {
    pub fn kind(&self) -> &'static str {
        match self {
            Follow::Deployment(_) => "Deployment",
            Follow::StatefulSet(_) => "StatefulSet",
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Follow::Deployment(n) | Follow::StatefulSet(n) => n,
        }
    }

    /// The settings the reads after the first wave (and the checks) use.
    pub fn apply(&self, settings: &mut Settings) {
        match self {
            Follow::Deployment(name) => {
                settings.take_discovered("deployment", name, FROM_SCALE_TARGET);
            }
            Follow::StatefulSet(name) => {
                settings.follow_statefulset(name);
            }
        }
    }
}

/// What to follow: the ScaledObject scales a Deployment (`apps`) of another
/// name, or a StatefulSet, and `deployment` was not given. `None` on the
/// usual path, and for kinds the plugin cannot read (Argo Rollouts, …).
pub fn to_follow(settings: &Settings, so: Option<&DynamicObject>) -> Option<Follow> {
    if settings.is_set("deployment") {
        return None;
    }
    let t = scale_target(&so?.data)?;
    if !t.api_version.starts_with("apps/") {
        return None;
    }
    match t.kind.as_str() {
        "Deployment" if t.name != settings.deployment => Some(Follow::Deployment(t.name)),
        "StatefulSet" => Some(Follow::StatefulSet(t.name)),
        _ => None,
    }
}

/// kubectl's string of a `metav1.LabelSelector` (`LabelSelectorAsSelector`):
/// `matchLabels` as `k=v`, `matchExpressions` as `k in (a,b)`, `k notin
/// (a,b)`, `k`, `!k`, ordered by key, values sorted. `None` for a selector
/// that selects everything, a malformed one, or one too long to use.
pub fn selector_string(sel: &serde_json::Value) -> Option<String> {
    let mut reqs: Vec<(String, String)> = Vec::new();
    if let Some(labels) = sel["matchLabels"].as_object() {
        for (k, v) in labels {
            let v = v.as_str()?;
            if !valid_key(k) || !valid_value(v) {
                return None;
            }
            reqs.push((k.clone(), format!("{k}={v}")));
        }
    }
    if let Some(exprs) = sel["matchExpressions"].as_array() {
        for e in exprs {
            let k = e["key"].as_str().filter(|k| valid_key(k))?;
            let mut values: Vec<&str> = match e["values"].as_array() {
                Some(vs) => vs.iter().map(|v| v.as_str()).collect::<Option<_>>()?,
                None => Vec::new(),
            };
            if !values.iter().all(|v| valid_value(v)) {
                return None;
            }
            values.sort_unstable();
            values.dedup();
            let text = match e["operator"].as_str()? {
                "In" if !values.is_empty() => format!("{k} in ({})", values.join(",")),
                "NotIn" if !values.is_empty() => format!("{k} notin ({})", values.join(",")),
                "Exists" if values.is_empty() => k.to_string(),
                "DoesNotExist" if values.is_empty() => format!("!{k}"),
                _ => return None,
            };
            reqs.push((k.to_string(), text));
        }
    }
    if reqs.is_empty() {
        return None;
    }
    reqs.sort();
    let out = reqs
        .into_iter()
        .map(|(_, t)| t)
        .collect::<Vec<_>>()
        .join(",");
    (out.len() <= MAX_SELECTOR).then_some(out)
}

/// A label key: an optional DNS-subdomain prefix and `/`, then a name of at
/// most 63 characters (alphanumerics, `-`, `_`, `.`).
fn valid_key(k: &str) -> bool {
    let (prefix, name) = match k.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    prefix.is_none_or(|p| p.len() <= 253 && is_dns_subdomain(p))
        && !name.is_empty()
        && valid_value(name)
}

fn valid_value(v: &str) -> bool {
    v.len() <= 63
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The reads of the extra round.
pub struct Followed {
    /// The Deployment `scaleTargetRef` names (`Err` NotFound when missing);
    /// `None` for a StatefulSet (the configured Deployment's read stays).
    pub deployment: Option<Result<Lenient<wire::Deployment>, Failure>>,
    /// The selector built from it, when `selector` was not given.
    pub selector: Option<String>,
    /// The game pods listed with that selector.
    pub pods: Option<Result<Vec<wire::Pod>, Failure>>,
    /// The StatefulSet's read (`None` when a Deployment was followed).
    pub statefulset: Option<Result<(), Failure>>,
    /// Its `spec.podManagementPolicy`, when it is one Kubernetes knows.
    pub pod_management_policy: Option<String>,
}

impl Followed {
    /// What the snapshot records of it: the workload followed, and the gap
    /// when the StatefulSet could not be read (NotFound is `missing`, a
    /// finding of `keda.scaledobject`, not a gap).
    pub fn found(&self, settings: &Settings, what: &Follow) -> (TargetFound, Option<Gap>) {
        let failure = self.statefulset.as_ref().and_then(|r| r.as_ref().err());
        let missing = failure.is_some_and(|f| f.reason == GapReason::NotFound);
        let found = TargetFound {
            kind: what.kind().into(),
            name: what.name().into(),
            instead_of: settings.deployment.clone(),
            selector: self.selector.clone(),
            missing,
            pod_management_policy: self.pod_management_policy.clone(),
        };
        let gap = failure
            .filter(|_| !missing)
            .map(|f| f.clone().into_gap(STATEFULSET_GAP));
        (found, gap)
    }
}

/// The gap source of a StatefulSet `scaleTargetRef` names that could not be read.
pub const STATEFULSET_GAP: &str = "statefulset";

/// Reads the workload, then the pods its selector selects (unless the
/// `selector` setting was given, or the workload has no usable one).
pub async fn follow(
    client: &kube::Client,
    settings: &Settings,
    what: &Follow,
    timeout: Duration,
) -> Followed {
    let ns = settings.namespace.as_str();
    let target = |verb, resource, group| ReadTarget {
        verb,
        resource,
        group,
        namespace: Some(ns),
    };
    let selector_of =
        |sel: &serde_json::Value| selector_string(sel).filter(|_| !settings.is_set("selector"));
    let mut pod_management_policy = None;
    let (deployment, selector, statefulset) = match what {
        Follow::Deployment(name) => {
            let api: Api<Lenient<wire::Deployment>> = Api::namespaced(client.clone(), ns);
            let d = read(timeout, target("get", "deployments", "apps"), api.get(name)).await;
            let selector = d
                .as_ref()
                .ok()
                .and_then(|d| d.0.spec.as_ref())
                .and_then(|s| s.selector.as_ref())
                .and_then(selector_of);
            (Some(d), selector, None)
        }
        Follow::StatefulSet(name) => {
            // Only its selector is read: as JSON, not k8s-openapi's
            // StatefulSet (whose pod template decoder the binary leaves out).
            let resource = kube::core::ApiResource {
                group: "apps".into(),
                version: "v1".into(),
                api_version: "apps/v1".into(),
                kind: "StatefulSet".into(),
                plural: "statefulsets".into(),
            };
            let api: Api<Lenient<kube::core::DynamicObject>> =
                Api::namespaced_with(client.clone(), ns, &resource);
            let s = read(
                timeout,
                target("get", "statefulsets", "apps"),
                api.get(name),
            )
            .await;
            let selector = s
                .as_ref()
                .ok()
                .and_then(|s| selector_of(&s.0.data["spec"]["selector"]));
            pod_management_policy = s
                .as_ref()
                .ok()
                .and_then(|s| pod_management_policy_of(&s.0.data["spec"]["podManagementPolicy"]));
            (None, selector, Some(s.map(|_| ())))
        }
    };
    let pods = match &selector {
        Some(sel) if *sel != settings.selector => {
            let pods_api: Api<wire::Pod> = Api::namespaced(client.clone(), ns);
            let params = ListParams::default().labels(sel);
            Some(
                read(
                    timeout,
                    target("list", "pods", ""),
                    lists::paged(&pods_api, &params, lists::GAME_POD_PAGE),
                )
                .await,
            )
        }
        _ => None,
    };
    Followed {
        deployment,
        selector,
        pods,
        statefulset,
        pod_management_policy,
    }
}

/// `spec.podManagementPolicy` when it is one of the two Kubernetes knows
/// (the API server fills in `OrderedReady` when it is not written).
fn pod_management_policy_of(v: &serde_json::Value) -> Option<String> {
    v.as_str()
        .filter(|p| matches!(*p, "OrderedReady" | "Parallel"))
        .map(str::to_string)
}

/// For a command that reads no snapshot first (`report`): the game's
/// ScaledObject (one GET, beside the history), for the workload it scales
/// (unless `deployment` is set) and the name of its HPA. `None` when it
/// cannot be read: the configured Deployment and KEDA's default HPA name
/// stay, as before.
pub async fn read_scaled_object(
    client: &kube::Client,
    settings: &Settings,
) -> Option<DynamicObject> {
    get_scaled_object(client, settings).await.ok()
}

/// The game's ScaledObject (one GET), or why it could not be read.
pub async fn get_scaled_object(
    client: &kube::Client,
    settings: &Settings,
) -> Result<DynamicObject, Failure> {
    let ns = settings.namespace.as_str();
    let api: Api<Lenient<DynamicObject>> = Api::namespaced_with(
        client.clone(),
        ns,
        &super::collect::keda_resource("ScaledObject", "scaledobjects"),
    );
    let target = ReadTarget {
        verb: "get",
        resource: "scaledobjects",
        group: "keda.sh",
        namespace: Some(ns),
    };
    read(
        settings.request_timeout,
        target,
        api.get(&settings.scaled_object),
    )
    .await
    .map(|o| o.0)
}

/// Follows `what` (one more round: the workload, and its pods) and says what
/// was found, as the collect step records it in the snapshot.
pub async fn found(
    client: &kube::Client,
    settings: &Settings,
    what: &Follow,
) -> (TargetFound, Option<Gap>) {
    follow(client, settings, what, settings.request_timeout)
        .await
        .found(settings, what)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_selector_is_kubectls_string_of_match_labels_and_expressions() {
        let sel = json!({
            "matchLabels": {"app.kubernetes.io/name": "spice-game", "tier": "game"},
            "matchExpressions": [
                {"key": "track", "operator": "In", "values": ["stable", "canary"]},
                {"key": "env", "operator": "NotIn", "values": ["dev"]},
                {"key": "owner", "operator": "Exists"},
                {"key": "legacy", "operator": "DoesNotExist"}
            ]
        });
        assert_eq!(
            selector_string(&sel).unwrap(),
            "app.kubernetes.io/name=spice-game,env notin (dev),!legacy,owner,tier=game,track in (canary,stable)"
        );
        assert_eq!(
            selector_string(&json!({"matchLabels": {"app": "spice-game"}})).unwrap(),
            "app=spice-game"
        );
    }

    #[test]
    fn a_selector_that_selects_everything_or_is_malformed_is_none() {
        for bad in [
            json!({}),
            json!({"matchLabels": {}}),
            json!({"matchLabels": {"app": "a b"}}),
            json!({"matchLabels": {"app\u{1b}[31m": "x"}}),
            json!({"matchLabels": {"app": 3}}),
            json!({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}),
            json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}),
            json!({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]}),
            json!({"matchExpressions": [{"key": "a,b", "operator": "Exists"}]}),
        ] {
            assert_eq!(selector_string(&bad), None, "{bad}");
        }
        let long: serde_json::Map<String, serde_json::Value> = (0..40)
            .map(|i| (format!("key-{i:02}-{}", "k".repeat(40)), json!("v")))
            .collect();
        assert_eq!(selector_string(&json!({ "matchLabels": long })), None);
    }

    #[test]
    fn the_scale_target_defaults_to_an_apps_v1_deployment_and_junk_is_no_target() {
        let t = scale_target(&json!({"spec": {"scaleTargetRef": {"name": "spice-game"}}})).unwrap();
        assert_eq!(
            (t.api_version.as_str(), t.kind.as_str(), t.name.as_str()),
            ("apps/v1", "Deployment", "spice-game")
        );
        let t = scale_target(&json!({"spec": {"scaleTargetRef": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "spice"}}})).unwrap();
        assert_eq!(t.kind, "Rollout");
        for bad in [
            json!({"spec": {}}),
            json!({"spec": {"scaleTargetRef": {"name": ""}}}),
            json!({"spec": {"scaleTargetRef": {"name": "Spice\u{1b}"}}}),
        ] {
            assert_eq!(scale_target(&bad), None, "{bad}");
        }
    }

    #[test]
    fn the_hpa_name_is_the_status_then_the_spec_then_none() {
        let so = |data: serde_json::Value| {
            let mut o = DynamicObject::new(
                "spice-runner-keda",
                &kube::api::ApiResource::erase::<k8s_openapi::api::core::v1::Pod>(&()),
            );
            o.data = data;
            o
        };
        let spec =
            json!({"advanced": {"horizontalPodAutoscalerConfig": {"name": "spice-game-hpa"}}});
        assert_eq!(
            hpa_name(&so(json!({ "spec": spec }))).as_deref(),
            Some("spice-game-hpa")
        );
        assert_eq!(
            hpa_name(&so(
                json!({"spec": spec, "status": {"hpaName": "made-hpa"}})
            ))
            .as_deref(),
            Some("made-hpa"),
            "what KEDA made wins over what it will make"
        );
        assert_eq!(hpa_name(&so(json!({"spec": {"advanced": {}}}))), None);
        assert_eq!(
            hpa_name(&so(
                json!({"spec": {"advanced": {"horizontalPodAutoscalerConfig": {"name": ""}}}})
            )),
            None
        );
    }

    #[test]
    fn only_another_deployment_is_followed_and_never_over_a_set_deployment() {
        let so = |target: serde_json::Value| {
            let mut o = DynamicObject::new(
                "spice-runner-keda",
                &kube::api::ApiResource::erase::<k8s_openapi::api::core::v1::Pod>(&()),
            );
            o.data = json!({"spec": {"scaleTargetRef": target}});
            o
        };
        let defaults = Settings::defaults();
        let game = so(json!({"name": "spice-game"}));
        assert_eq!(
            to_follow(&defaults, Some(&game)),
            Some(Follow::Deployment("spice-game".into()))
        );
        assert_eq!(
            to_follow(&defaults, Some(&so(json!({"name": "spice-runner"})))),
            None
        );
        assert_eq!(
            to_follow(
                &defaults,
                Some(&so(json!({"kind": "StatefulSet", "name": "spice-runner"})))
            ),
            Some(Follow::StatefulSet("spice-runner".into()))
        );
        assert_eq!(
            to_follow(
                &defaults,
                Some(&so(
                    json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "spice-runner"})
                ))
            ),
            None
        );
        assert_eq!(to_follow(&defaults, None), None);
        let mut set = defaults.clone();
        for e in set.effective.iter_mut().filter(|e| e.key == "deployment") {
            e.source = crate::settings::Source::Flag("--deployment".into());
        }
        assert_eq!(to_follow(&set, Some(&game)), None);
    }

    #[test]
    fn only_the_two_pod_management_policies_kubernetes_knows_are_kept() {
        assert_eq!(
            pod_management_policy_of(&json!("OrderedReady")).as_deref(),
            Some("OrderedReady")
        );
        assert_eq!(
            pod_management_policy_of(&json!("Parallel")).as_deref(),
            Some("Parallel")
        );
        for junk in [
            json!(null),
            json!(""),
            json!("Par\u{1b}[31mallel"),
            json!(3),
        ] {
            assert_eq!(pod_management_policy_of(&junk), None, "{junk}");
        }
    }

    #[test]
    fn a_statefulset_not_found_is_missing_and_any_other_failure_a_gap() {
        let what = Follow::StatefulSet("spice-runner".into());
        let settings = Settings::defaults();
        let followed = |read: Result<(), Failure>| Followed {
            deployment: None,
            selector: read.is_ok().then(|| "app=spice-runner".to_string()),
            pods: None,
            statefulset: Some(read),
            pod_management_policy: None,
        };
        let failure = |reason| Failure {
            reason,
            message: "statefulsets.apps \"spice-runner\"".into(),
            hint: "the hint".into(),
        };
        let (found, gap) = followed(Ok(())).found(&settings, &what);
        assert!(!found.missing && gap.is_none());
        assert_eq!(found.selector.as_deref(), Some("app=spice-runner"));
        assert_eq!(
            (found.kind.as_str(), found.name.as_str()),
            ("StatefulSet", "spice-runner")
        );

        let (found, gap) = followed(Err(failure(GapReason::NotFound))).found(&settings, &what);
        assert!(found.missing && gap.is_none());

        let (found, gap) = followed(Err(failure(GapReason::Forbidden))).found(&settings, &what);
        assert!(!found.missing);
        let gap = gap.expect("a gap");
        assert_eq!(gap.source.to_string(), STATEFULSET_GAP);
        assert_eq!(gap.reason, GapReason::Forbidden);
    }
}
