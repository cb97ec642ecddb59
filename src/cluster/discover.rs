//! Finding KEDA where the cluster has it (issue 19 item 1). The settings say
//! where to look first (the Helm chart's namespace and labels); the
//! APIService `v1beta1.external.metrics.k8s.io` names the namespace of
//! KEDA's metrics server; the release manifests label their pods differently
//! from the chart. The first wave reads the APIService beside the two
//! configured pod lists, so the Helm default costs no round trip; only when
//! those lists come back empty does one more round look elsewhere.

use super::collect::read;
use super::error::{Failure, ReadTarget};
use super::lists;
use super::wire;
use crate::settings::Settings;
use crate::snapshot::{KedaFound, KedaHow};
use futures::future::join_all;
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use std::time::Duration;

/// The APIService KEDA's metrics server registers (kedacore/keda v2.19.0
/// config/metrics-server/api_service.yaml; the Helm chart's
/// templates/metrics-server/apiservice.yaml registers the same name).
pub const KEDA_APISERVICE: &str = "v1beta1.external.metrics.k8s.io";

/// The operator pods' labels: the Helm chart's (kedacore/charts v2.19.0
/// keda/templates/manager/deployment.yaml, `app.kubernetes.io/name:
/// keda-operator`), then the release manifests' (kedacore/keda v2.19.0
/// config/manager/manager.yaml, `app: keda-operator`).
pub const OPERATOR_LABELS: &[&str] = &["app.kubernetes.io/name=keda-operator", "app=keda-operator"];
/// The metrics server pods' labels: the Helm chart's
/// (keda/templates/metrics-server/deployment.yaml,
/// `app.kubernetes.io/name: keda-operator-metrics-apiserver`), then the
/// release manifests' (config/metrics-server/deployment.yaml,
/// `app: keda-metrics-apiserver`).
pub const METRICS_APISERVER_LABELS: &[&str] = &[
    "app.kubernetes.io/name=keda-operator-metrics-apiserver",
    "app=keda-metrics-apiserver",
];
/// Where KEDA's other installers put it when no APIService says: the AKS
/// add-on in `kube-system`, the OpenShift (OLM) operator in `openshift-keda`.
pub const WELL_KNOWN_NAMESPACES: &[&str] = &["kube-system", "openshift-keda"];

pub type PodsRead = Result<Vec<wire::Pod>, Failure>;

/// KEDA's operator and metrics server pods, and where they were found.
pub struct KedaPods {
    pub found: KedaFound,
    pub operator: PodsRead,
    pub metrics_apiserver: PodsRead,
}

fn apiservice_resource() -> ApiResource {
    ApiResource {
        group: "apiregistration.k8s.io".into(),
        version: "v1".into(),
        api_version: "apiregistration.k8s.io/v1".into(),
        kind: "APIService".into(),
        plural: "apiservices".into(),
    }
}

/// The namespace the APIService's `spec.service` names, if it exists and
/// names one. Not readable (a user without cluster-scoped reads) is no
/// answer, never a gap: the settings then decide.
async fn apiservice_namespace(client: &kube::Client, timeout: Duration) -> Option<String> {
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &apiservice_resource());
    let target = ReadTarget {
        verb: "get",
        resource: "apiservices",
        group: "apiregistration.k8s.io",
        namespace: None,
    };
    let obj = read(timeout, target, api.get(KEDA_APISERVICE)).await.ok()?;
    namespace_of_apiservice(&obj.data)
}

/// `spec.service.namespace` of an APIService, when it is a DNS name.
pub fn namespace_of_apiservice(data: &serde_json::Value) -> Option<String> {
    let ns = data["spec"]["service"]["namespace"].as_str()?;
    let valid = !ns.is_empty()
        && ns.len() <= 63
        && ns
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    valid.then(|| ns.to_string())
}

async fn list_pods(
    client: &kube::Client,
    timeout: Duration,
    namespace: &str,
    selector: &str,
) -> PodsRead {
    let api: Api<wire::Pod> = Api::namespaced(client.clone(), namespace);
    let params = ListParams::default().labels(selector);
    let target = ReadTarget {
        verb: "list",
        resource: "pods",
        group: "",
        namespace: Some(namespace),
    };
    read(timeout, target, lists::paged(&api, &params, lists::PAGE)).await
}

fn has_pods(read: &PodsRead) -> bool {
    read.as_ref().is_ok_and(|p| !p.is_empty())
}

/// Reads KEDA's pods: the configured lists and the APIService at once, then,
/// only when both lists are empty, the other label sets in the APIService's
/// namespace (or, without one, the configured and well-known namespaces).
/// Settings given by the user are overrides: a set `kedaNamespace` is the
/// only namespace looked in, set selectors the only labels.
pub async fn keda_pods(client: &kube::Client, settings: &Settings, timeout: Duration) -> KedaPods {
    let configured = settings.keda_namespace.as_str();
    let (named, operator, metrics_apiserver) = tokio::join!(
        apiservice_namespace(client, timeout),
        list_pods(
            client,
            timeout,
            configured,
            &settings.keda_operator_selector
        ),
        list_pods(
            client,
            timeout,
            configured,
            &settings.keda_metrics_apiserver_selector
        ),
    );
    let namespace_set = settings.is_set("kedaNamespace");
    let mut found = KedaFound {
        namespace: configured.to_string(),
        how: if namespace_set {
            KedaHow::Setting
        } else if named.as_deref() == Some(configured) {
            KedaHow::ApiService
        } else {
            KedaHow::Default
        },
        operator_selector: settings.keda_operator_selector.clone(),
        metrics_apiserver_selector: settings.keda_metrics_apiserver_selector.clone(),
        searched: vec![configured.to_string()],
    };
    let at_default = has_pods(&operator) || has_pods(&metrics_apiserver);
    // A failed list (403, timeout) is a gap of its own: say that, do not
    // look elsewhere and blame the wrong namespace.
    let failed = operator.is_err() || metrics_apiserver.is_err();
    if at_default || failed {
        return KedaPods {
            found,
            operator,
            metrics_apiserver,
        };
    }

    let operator_sets = alternatives(
        settings.is_set("kedaOperatorSelector"),
        &settings.keda_operator_selector,
        OPERATOR_LABELS,
    );
    let metrics_sets = alternatives(
        settings.is_set("kedaMetricsApiserverSelector"),
        &settings.keda_metrics_apiserver_selector,
        METRICS_APISERVER_LABELS,
    );
    let mut namespaces: Vec<(String, KedaHow)> = Vec::new();
    let mut add = |ns: &str, how: KedaHow| {
        if !namespaces.iter().any(|(n, _)| n == ns) {
            namespaces.push((ns.to_string(), how));
        }
    };
    if namespace_set {
        add(configured, KedaHow::Setting);
    } else if let Some(ns) = &named {
        add(ns, KedaHow::ApiService);
    } else {
        add(configured, KedaHow::Default);
        for ns in WELL_KNOWN_NAMESPACES {
            add(ns, KedaHow::WellKnown);
        }
    }
    // Every (namespace, selector) pair not read yet, all at once.
    let reads = namespaces.iter().map(|(ns, _)| {
        let (operator_sets, metrics_sets) = (&operator_sets, &metrics_sets);
        async move {
            let skip = |sel: &str, configured_sel: &str| ns == configured && sel == configured_sel;
            let op = join_all(operator_sets.iter().map(|sel| async move {
                if skip(sel, &settings.keda_operator_selector) {
                    Ok(Vec::new())
                } else {
                    list_pods(client, timeout, ns, sel).await
                }
            }));
            let ms = join_all(metrics_sets.iter().map(|sel| async move {
                if skip(sel, &settings.keda_metrics_apiserver_selector) {
                    Ok(Vec::new())
                } else {
                    list_pods(client, timeout, ns, sel).await
                }
            }));
            tokio::join!(op, ms)
        }
    });
    let results = join_all(reads).await;
    for ((ns, how), (ops, mss)) in namespaces.iter().zip(results) {
        if !found.searched.contains(ns) {
            found.searched.push(ns.clone());
        }
        let op = ops.iter().position(has_pods);
        let ms = mss.iter().position(has_pods);
        if op.is_none() && ms.is_none() {
            continue;
        }
        found.namespace = ns.clone();
        found.how = *how;
        let mut ops = ops;
        let mut mss = mss;
        let operator = match op {
            Some(i) => {
                found.operator_selector = operator_sets[i].clone();
                ops.swap_remove(i)
            }
            None => Ok(Vec::new()),
        };
        let metrics_apiserver = match ms {
            Some(i) => {
                found.metrics_apiserver_selector = metrics_sets[i].clone();
                mss.swap_remove(i)
            }
            None => Ok(Vec::new()),
        };
        // The other component's selector follows the install shape found.
        if op.is_none()
            && let Some(i) = ms
        {
            found.operator_selector = operator_sets[i.min(operator_sets.len() - 1)].clone();
        }
        if ms.is_none()
            && let Some(i) = op
        {
            found.metrics_apiserver_selector = metrics_sets[i.min(metrics_sets.len() - 1)].clone();
        }
        return KedaPods {
            found,
            operator,
            metrics_apiserver,
        };
    }
    found.how = KedaHow::NotFound;
    KedaPods {
        found,
        operator,
        metrics_apiserver,
    }
}

/// When the ScaledObject was not found: whether the namespace exists, and
/// if not, the namespaces whose ScaledObjects target a Deployment named
/// `deployment` (one `scaledobjects -A` list, read only then). `None`: the
/// namespace exists, or that could not be read.
pub async fn missing_namespace(
    client: &kube::Client,
    timeout: Duration,
    namespace: &str,
    deployment: &str,
) -> Option<Vec<String>> {
    let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    let target = ReadTarget {
        verb: "get",
        resource: "namespaces",
        group: "",
        namespace: None,
    };
    match read(timeout, target, api.get(namespace)).await {
        Err(f) if f.reason == crate::snapshot::GapReason::NotFound => {}
        _ => return None,
    }
    let so_api: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &ApiResource {
            group: "keda.sh".into(),
            version: "v1alpha1".into(),
            api_version: "keda.sh/v1alpha1".into(),
            kind: "ScaledObject".into(),
            plural: "scaledobjects".into(),
        },
    );
    let target = ReadTarget {
        verb: "list",
        resource: "scaledobjects",
        group: "keda.sh",
        namespace: None,
    };
    // One page, bounded: the names are a hint, not an inventory.
    let list = read(
        timeout,
        target,
        so_api.list(&ListParams::default().limit(500)),
    )
    .await
    .map(|l| l.items)
    .unwrap_or_default();
    Some(namespaces_targeting(&list, deployment))
}

/// The namespaces (sorted, once each) of the ScaledObjects whose
/// `scaleTargetRef` is a Deployment named `deployment`.
pub fn namespaces_targeting(objects: &[DynamicObject], deployment: &str) -> Vec<String> {
    let mut out: Vec<String> = objects
        .iter()
        .filter(|o| {
            let t = &o.data["spec"]["scaleTargetRef"];
            t["name"] == deployment && t["kind"].as_str().is_none_or(|k| k == "Deployment")
        })
        .filter_map(|o| o.metadata.namespace.clone())
        .filter(|ns| {
            ns.len() <= 63
                && ns
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The selectors to try: the user's own when set, else each known label set.
fn alternatives(set: bool, configured: &str, known: &[&str]) -> Vec<String> {
    if set {
        return vec![configured.to_string()];
    }
    let mut out = vec![configured.to_string()];
    for k in known {
        if !out.iter().any(|o| o == k) {
            out.push(k.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_apiservice_names_its_services_namespace_and_junk_is_no_answer() {
        let svc = serde_json::json!({"spec": {"service": {"namespace": "kube-system", "name": "keda-operator-metrics-apiserver", "port": 443}}});
        assert_eq!(
            namespace_of_apiservice(&svc).as_deref(),
            Some("kube-system")
        );
        for bad in [
            serde_json::json!({"spec": {}}),
            serde_json::json!({"spec": {"service": null}}),
            serde_json::json!({"spec": {"service": {"namespace": "Bad\u{1b}[31m"}}}),
            serde_json::json!({"spec": {"service": {"namespace": ""}}}),
        ] {
            assert_eq!(namespace_of_apiservice(&bad), None, "{bad}");
        }
    }

    #[test]
    fn the_namespaces_targeting_a_deployment_are_listed_once_each_and_sorted() {
        let so = |ns: &str, kind: Option<&str>, name: &str| {
            let mut o = DynamicObject::new(
                "x",
                &ApiResource::erase::<k8s_openapi::api::core::v1::Pod>(&()),
            )
            .within(ns);
            o.data = serde_json::json!({"spec": {"scaleTargetRef": {"kind": kind, "name": name}}});
            o
        };
        let objects = [
            so("prod", Some("Deployment"), "spice-runner"),
            so("default", None, "spice-runner"),
            so("prod", Some("Deployment"), "spice-runner"),
            so("jobs", Some("StatefulSet"), "spice-runner"),
            so("other", Some("Deployment"), "api"),
        ];
        assert_eq!(
            namespaces_targeting(&objects, "spice-runner"),
            ["default", "prod"]
        );
    }

    #[test]
    fn alternatives_keep_a_set_selector_alone_and_try_both_label_sets_otherwise() {
        assert_eq!(
            alternatives(true, "team=keda", OPERATOR_LABELS),
            ["team=keda"]
        );
        assert_eq!(
            alternatives(false, OPERATOR_LABELS[0], OPERATOR_LABELS),
            OPERATOR_LABELS
        );
    }
}
