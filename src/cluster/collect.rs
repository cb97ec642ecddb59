//! One concurrent collect step → a Snapshot. Every read is issued at once with
//! its own timeout; a failed read becomes a gap, never an abort. Only "no
//! cluster at all" (every API read unreachable, or 401) is an error.

use super::build::SnapshotBuilder;
use super::convert;
use super::error::{Error, Failure, ReadTarget, classify};
use super::lenient::Lenient;
use super::lists;
use super::operator_first;
use super::prometheus::HttpApi;
use super::promql;
use super::remember::LogPod;
use super::wire;
use super::wire::Deployment;
use crate::settings::{Endpoint, Settings};
use crate::snapshot::*;
use futures::future::join_all;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use std::future::Future;
use std::time::Duration;

/// The connections a collect step uses.
pub struct Sources {
    pub kube: kube::Client,
    pub context: Option<String>,
    pub server: String,
    pub prometheus: Result<HttpApi, String>,
    pub loki: Result<HttpApi, String>,
}

/// How much to read: `status` needs less than `diagnose` and `snapshot`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Status,
    Full,
}

impl Sources {
    pub fn new(
        kube: kube::Client,
        context: Option<String>,
        server: String,
        settings: &Settings,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Sources {
        let prometheus = HttpApi::new(
            &settings.prometheus,
            Some(&kube),
            match settings.prometheus {
                Endpoint::Url(_) => env("SPICE_PROMETHEUS_TOKEN"),
                Endpoint::Service(_) => None,
            },
            settings.request_timeout,
        )
        .map(|api| api.with_tenant(settings.prometheus_tenant.clone()));
        let loki = HttpApi::new(
            &settings.loki,
            Some(&kube),
            match settings.loki {
                Endpoint::Url(_) => env("SPICE_LOKI_TOKEN"),
                Endpoint::Service(_) => None,
            },
            settings.request_timeout,
        );
        Sources {
            kube,
            context,
            server,
            prometheus,
            loki,
        }
    }
}

pub(super) fn keda_resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: "keda.sh".into(),
        version: "v1alpha1".into(),
        api_version: "keda.sh/v1alpha1".into(),
        kind: kind.into(),
        plural: plural.into(),
    }
}

fn karpenter_resource(version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: "karpenter.sh".into(),
        version: version.into(),
        api_version: format!("karpenter.sh/{version}"),
        kind: kind.into(),
        plural: plural.into(),
    }
}

/// The karpenter.sh version read first; Karpenter serves it from v1.0 on.
pub(super) const KARPENTER_V1: &str = "v1";
/// What Karpenter before 1.0 (v0.32–v0.37) serves instead, with the same
/// NodePool and NodeClaim fields the checks read (kubernetes-sigs/karpenter
/// v0.35 pkg/apis/v1beta1/nodepool.go, nodeclaim_status.go).
const KARPENTER_V1BETA1: &str = "v1beta1";

type ListRead = Result<kube::api::ObjectList<DynamicObject>, Failure>;

/// Lists NodePools and NodeClaims of one karpenter.sh version, concurrently.
pub(super) async fn read_karpenter(
    client: &kube::Client,
    timeout: Duration,
    version: &str,
) -> (ListRead, ListRead) {
    let pool_api: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &karpenter_resource(version, "NodePool", "nodepools"),
    );
    let claim_api: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &karpenter_resource(version, "NodeClaim", "nodeclaims"),
    );
    let all = ListParams::default();
    let target = |resource| ReadTarget {
        verb: "list",
        resource,
        group: "karpenter.sh",
        namespace: None,
    };
    tokio::join!(
        read(timeout, target("nodepools"), pool_api.list(&all)),
        read(timeout, target("nodeclaims"), claim_api.list(&all)),
    )
}

/// The versions of karpenter.sh that discovery lists (empty: not served, or
/// discovery failed).
pub(super) fn karpenter_versions(
    groups: &k8s_openapi::apimachinery::pkg::apis::meta::v1::APIGroupList,
) -> Vec<String> {
    groups
        .groups
        .iter()
        .filter(|g| g.name == "karpenter.sh")
        .flat_map(|g| g.versions.iter().map(|v| v.version.clone()))
        .collect()
}

/// Karpenter before 1.0 serves only v1beta1, so the v1 lists answer 404 (not
/// served) while discovery lists the group: read v1beta1 then, instead of
/// saying Karpenter is not installed. Returns the lists and the version read.
pub(super) async fn karpenter_fallback(
    client: &kube::Client,
    timeout: Duration,
    discovered: Option<&[String]>,
    v1: (ListRead, ListRead),
) -> (ListRead, ListRead, &'static str) {
    let not_served = |r: &ListRead| {
        r.as_ref()
            .is_err_and(|f| f.reason == GapReason::NotInstalled)
    };
    let older = discovered.is_none_or(|v| v.iter().any(|v| v == KARPENTER_V1BETA1));
    if not_served(&v1.0) && not_served(&v1.1) && older {
        let (pools, claims) = read_karpenter(client, timeout, KARPENTER_V1BETA1).await;
        if !not_served(&pools) {
            return (pools, claims, KARPENTER_V1BETA1);
        }
    }
    (v1.0, v1.1, KARPENTER_V1)
}

/// Karpenter records NodePool, NodeClaim and Node events (cluster-scoped
/// objects; Cluster Autoscaler's node events too) in the `default` namespace
/// (kubernetes-sigs/karpenter v1.14.1 `pkg/operator/operator.go`: a core/v1
/// recorder, `mgr.GetEventRecorderFor("karpenter")`): client-go's recorder puts an event whose
/// object has no namespace there. Read them when the game runs elsewhere;
/// `involvedObject.namespace=` selects exactly the cluster-scoped objects.
async fn read_karpenter_events(
    client: &kube::Client,
    timeout: Duration,
    game_namespace: &str,
) -> Option<Result<Vec<EventInfo>, Failure>> {
    if game_namespace == "default" {
        return None;
    }
    let api: Api<wire::Event> = Api::namespaced(client.clone(), "default");
    let params = ListParams::default().fields("involvedObject.namespace=");
    let target = ReadTarget {
        verb: "list",
        resource: "events",
        group: "",
        namespace: Some("default"),
    };
    let res = read(timeout, target, lists::paged(&api, &params, lists::PAGE)).await;
    Some(res.map(|list| {
        list.iter()
            .map(convert::event)
            .filter(|e| matches!(e.object_kind.as_str(), "NodePool" | "NodeClaim" | "Node"))
            .collect()
    }))
}

/// The gateway Service of the grafana/loki Helm chart (`<release>-gateway`,
/// nginx, port 80, serving `/loki/api/v1/...` like Loki itself), for the
/// usual release name `loki`.
const LOKI_GATEWAY: (&str, &str) = ("loki-gateway", "80");

/// Where Cluster Autoscaler writes its status (`--status-config-map-name`,
/// default `cluster-autoscaler-status`, in the namespace it runs in:
/// `kube-system` on every managed install; cluster-autoscaler-1.33.0
/// `config/flags/flags.go`).
const CA_STATUS: (&str, &str) = ("kube-system", "cluster-autoscaler-status");

/// The most of CA's status text kept (it lists every node group).
const CA_STATUS_BYTES: usize = 64 * 1024;

/// Reads Cluster Autoscaler's status ConfigMap. Not there (no Cluster
/// Autoscaler) or slow: `None`; the checks then judge from events alone.
/// Forbidden is a gap: the user cannot see what CA says, which is not "no
/// Cluster Autoscaler".
async fn read_ca_status(
    client: &kube::Client,
    timeout: Duration,
) -> Result<Option<ClusterAutoscalerInfo>, Failure> {
    let (ns, name) = CA_STATUS;
    let api: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client.clone(), ns);
    let target = ReadTarget {
        verb: "get",
        resource: "configmaps",
        group: "",
        namespace: Some(ns),
    };
    let cm = match read(timeout, target, api.get(name)).await {
        Ok(cm) => cm,
        Err(f) if f.reason == GapReason::Forbidden => return Err(f),
        Err(_) => return Ok(None),
    };
    let Some(mut status) = cm.data.as_ref().and_then(|d| d.get("status")).cloned() else {
        return Ok(None);
    };
    if status.len() > CA_STATUS_BYTES {
        let mut cut = CA_STATUS_BYTES;
        while !status.is_char_boundary(cut) {
            cut -= 1;
        }
        status.truncate(cut);
    }
    Ok(Some(ClusterAutoscalerInfo {
        config_map: format!("{ns}/{name}"),
        status,
        last_updated: cm
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get("cluster-autoscaler.kubernetes.io/last-updated"))
            .map(|s| s.chars().take(64).collect()),
    }))
}

/// Where Karpenter's controller runs unless `karpenterNamespace` says:
/// `kube-system` on EKS add-on installs (and the AWS getting-started
/// guide), `karpenter` with the Helm chart's usual namespace. Its pods carry
/// the chart's `app.kubernetes.io/name=karpenter` (aws/karpenter-provider-aws
/// `charts/karpenter/templates/_helpers.tpl` `karpenter.selectorLabels`, the
/// chart named `karpenter`).
pub const KARPENTER_NAMESPACES: &[&str] = &["kube-system", "karpenter"];
const KARPENTER_SELECTOR: &str = "app.kubernetes.io/name=karpenter";

/// Karpenter's controller pods wherever they run (the `karpenterNamespace`
/// setting, else each of [`KARPENTER_NAMESPACES`]); `Ok(None)` when no
/// namespace could be read. A 403 where no pod was found elsewhere is a gap
/// (the user cannot see the controller), never "no controller".
async fn read_karpenter_pods(
    client: &kube::Client,
    timeout: Duration,
    namespace: Option<&str>,
) -> Result<Option<Vec<PodInfo>>, Failure> {
    let params = ListParams::default().labels(KARPENTER_SELECTOR);
    let namespaces: Vec<&str> = match namespace {
        Some(ns) => vec![ns],
        None => KARPENTER_NAMESPACES.to_vec(),
    };
    let reads = namespaces.into_iter().map(|ns| {
        let api: Api<wire::Pod> = Api::namespaced(client.clone(), ns);
        let params = params.clone();
        async move {
            let target = ReadTarget {
                verb: "list",
                resource: "pods",
                group: "",
                namespace: Some(ns),
            };
            read(timeout, target, lists::paged(&api, &params, lists::PAGE)).await
        }
    });
    let mut found: Option<Vec<PodInfo>> = None;
    let mut forbidden = None;
    for res in join_all(reads).await {
        match res {
            Ok(list) => found
                .get_or_insert_with(Vec::new)
                .extend(list.iter().map(convert::pod)),
            Err(f) if f.reason == GapReason::Forbidden => {
                forbidden.get_or_insert(f);
            }
            Err(_) => {}
        }
    }
    if let Some(f) = forbidden
        && found.as_ref().is_none_or(Vec::is_empty)
    {
        return Err(f);
    }
    if let Some(pods) = &mut found {
        pods.sort_by(|a, b| a.name.cmp(&b.name));
    }
    Ok(found)
}

/// A custom resource's GET answered with another kind (a PodList from a
/// proxy that rewrites paths) is an error gap that names what came, never
/// an object with every field missing. `group` is the apiVersion's group
/// with its slash (any served version passes).
fn of_kind(obj: DynamicObject, group: &str, kind: &str) -> Result<DynamicObject, Failure> {
    let (got_kind, got_version) = obj
        .types
        .as_ref()
        .map(|t| (t.kind.as_str(), t.api_version.as_str()))
        .unwrap_or_default();
    if got_kind == kind && got_version.starts_with(group) {
        return Ok(obj);
    }
    Err(Failure {
        reason: GapReason::Error,
        message: format!(
            "asked for a {kind} ({group}…), the server answered a {} ({})",
            crate::error::quote(if got_kind.is_empty() { "object without kind" } else { got_kind }),
            crate::error::quote(got_version),
        ),
        hint: "something between the plugin and the API server (a proxy, a gateway) answers for it: check `kubectl get --raw` of the same path".into(),
    })
}

/// Runs a read with a deadline and words its failure.
pub(super) async fn read<T, F>(
    timeout: Duration,
    target: ReadTarget<'_>,
    fut: F,
) -> Result<T, Failure>
where
    F: Future<Output = Result<T, kube::Error>>,
{
    match tokio::time::timeout(timeout, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(classify(&e, target)),
        Err(_) => Err(Failure {
            reason: GapReason::Timeout,
            message: format!(
                "{} {}{} took longer than {}s",
                target.verb,
                target.resource,
                if target.group.is_empty() {
                    String::new()
                } else {
                    format!(".{}", target.group)
                },
                timeout.as_secs_f64()
            ),
            hint: "raise --request-timeout, or check the API server's load".into(),
        }),
    }
}

async fn with_timeout<T>(
    timeout: Duration,
    what: String,
    fut: impl Future<Output = Result<T, super::prometheus::Failure>>,
) -> Result<T, super::prometheus::Failure> {
    match tokio::time::timeout(timeout, fut).await {
        Ok(r) => r,
        Err(_) => Err(Failure::timed_out(
            &what,
            timeout,
            "the service is slow or unreachable; raise --request-timeout",
        )),
    }
}

/// How many operator log lines a snapshot keeps (the newest).
const OPERATOR_LOG_LINES: usize = 50;
/// How many error lines about other ScaledObjects a snapshot keeps as context.
const CONTEXT_LOG_LINES: usize = 10;

/// Reads one KEDA operator pod's recent log.
async fn read_pod_log(
    client: &kube::Client,
    settings: &Settings,
    namespace: &str,
    pod: &LogPod,
) -> Result<String, Failure> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let params = kube::api::LogParams {
        container: pod.container.clone(),
        tail_lines: Some(500),
        since_seconds: Some(1800),
        ..Default::default()
    };
    let target = ReadTarget {
        verb: "get",
        resource: "pods/log",
        group: "",
        namespace: Some(namespace),
    };
    read(
        settings.request_timeout,
        target,
        api.logs(&pod.name, &params),
    )
    .await
}

/// Reads the KEDA operator's recent logs and keeps the lines about this
/// ScaledObject or its scalers, and the failure of a pod's read if any.
/// `early` holds the reads made before the operator pods' list was in (see
/// `operator_first`); a pod of `targets` without one is read now, a second
/// round trip after the list.
async fn read_operator_logs(
    client: &kube::Client,
    settings: &Settings,
    keda_namespace: &str,
    targets: &[LogPod],
    early: Vec<(LogPod, Result<String, Failure>)>,
) -> (Option<Vec<LogLine>>, Option<Failure>) {
    let reads =
        operator_first::match_early(targets, early)
            .into_iter()
            .map(|(pod, answer)| async move {
                let res = match answer {
                    Some(res) => res,
                    None => read_pod_log(client, settings, keda_namespace, &pod).await,
                };
                (pod.name, res)
            });
    let mut lines = Vec::new();
    let mut context = Vec::new();
    let mut failure = None;
    for (pod, res) in join_all(reads).await {
        match res {
            Ok(text) => {
                for line in text.lines() {
                    let keep =
                        match relevant_log_line(line, &settings.namespace, &settings.scaled_object)
                        {
                            Relevance::Ours => &mut lines,
                            Relevance::Context => &mut context,
                            Relevance::None => continue,
                        };
                    keep.push(LogLine {
                        pod: pod.clone(),
                        line: line.trim_end().to_string(),
                    });
                }
            }
            Err(f) => failure = Some(f),
        }
    }
    if failure.is_some() && lines.is_empty() && context.is_empty() {
        return (None, failure);
    }
    let mut kept = context.split_off(context.len().saturating_sub(CONTEXT_LOG_LINES));
    kept.extend(lines.split_off(lines.len().saturating_sub(OPERATOR_LOG_LINES)));
    (Some(kept), failure)
}

/// Why an operator log line is kept.
#[derive(Debug, PartialEq, Eq)]
pub enum Relevance {
    /// It names this ScaledObject.
    Ours,
    /// An error about another ScaledObject: shown as context, never evidence.
    Context,
    None,
}

/// Whether to keep a KEDA operator line, judged by the object its structured
/// fields name (see `keda_log`), never by a bare substring: another object's
/// error line mentions our name in its query or message often enough.
pub fn relevant_log_line(line: &str, namespace: &str, scaled_object: &str) -> Relevance {
    match crate::keda_log::about(line, namespace, scaled_object) {
        crate::keda_log::About::Ours => Relevance::Ours,
        crate::keda_log::About::Other(_) if crate::keda_log::is_error(line) => Relevance::Context,
        _ => Relevance::None,
    }
}

/// Collects everything `status` and the checks read, concurrently.
pub async fn run(
    sources: &Sources,
    settings: &Settings,
    captured_at: jiff::Timestamp,
    scope: Scope,
) -> Result<Snapshot, Error> {
    let client = &sources.kube;
    let ns = settings.namespace.as_str();
    let timeout = settings.request_timeout;
    let mut snap = Snapshot::new(captured_at, ns);
    snap.context = sources.context.clone();
    snap.server = Some(sources.server.clone());

    let pods_api: Api<wire::Pod> = Api::namespaced(client.clone(), ns);
    // Full types, read leniently: one far-future time fails no read.
    let deploy_api: Api<Lenient<Deployment>> = Api::namespaced(client.clone(), ns);
    let hpa_api: Api<Lenient<HorizontalPodAutoscaler>> = Api::namespaced(client.clone(), ns);
    let event_api: Api<wire::Event> = Api::namespaced(client.clone(), ns);
    let so_api: Api<Lenient<DynamicObject>> = Api::namespaced_with(
        client.clone(),
        ns,
        &keda_resource("ScaledObject", "scaledobjects"),
    );

    let all = ListParams::default();
    let pod_params = ListParams::default().labels(&settings.selector);
    let event_params = ListParams::default().fields(lists::EVENT_FIELDS);
    let t = |verb, resource, group, namespace| ReadTarget {
        verb,
        resource,
        group,
        namespace,
    };

    // Discovery and the Karpenter v1 lists go together: only when both are
    // in does it show whether the older v1beta1 must be read instead, and
    // that read starts then, not after every other read.
    let discovery_and_karpenter = async {
        let discovery = read(
            timeout,
            t("get", "apis", "", None),
            client.list_api_groups(),
        );
        let (discovery, v1) =
            tokio::join!(discovery, read_karpenter(client, timeout, KARPENTER_V1));
        let discovered = discovery.as_ref().ok().map(karpenter_versions);
        let karpenter = karpenter_fallback(client, timeout, discovered.as_deref(), v1).await;
        (discovery, karpenter)
    };
    let pods = read(
        timeout,
        t("list", "pods", "", Some(ns)),
        lists::paged(&pods_api, &pod_params, lists::GAME_POD_PAGE),
    );
    let deployment = read(
        timeout,
        t("get", "deployments", "apps", Some(ns)),
        deploy_api.get(&settings.deployment),
    );
    let scaled_object = async {
        read(
            timeout,
            t("get", "scaledobjects", "keda.sh", Some(ns)),
            so_api.get(&settings.scaled_object),
        )
        .await
        .and_then(|o| of_kind(o.0, "keda.sh/", "ScaledObject"))
    };
    let hpas = read(
        timeout,
        t("list", "horizontalpodautoscalers", "autoscaling", Some(ns)),
        hpa_api.list(&all),
    );
    let nodes = read(timeout, t("list", "nodes", "", None), lists::nodes(client));
    let events = read(
        timeout,
        t("list", "events", "", Some(ns)),
        lists::paged(&event_api, &event_params, lists::PAGE),
    );
    // The operator's log read needs only the operator pods' names: it starts
    // as soon as their list is in, overlapping the other reads (the game
    // pods' list can be megabytes). Where KEDA runs is found with them
    // (`discover`): the APIService is read beside the configured lists.
    // A warm `diagnose` reads the log of the operator pods the last run read
    // beside their list, in the first round; those early answers count only
    // when KEDA was found in the configured namespace they were read in.
    let operator = async {
        let key = super::remember::operator_key(
            &sources.server,
            sources.context.as_deref(),
            &settings.keda_namespace,
        );
        let early = match scope {
            Scope::Full => operator_first::early(&key),
            Scope::Status => Vec::new(),
        };
        let early_reads = join_all(early.into_iter().map(|pod| async move {
            let res = read_pod_log(client, settings, &settings.keda_namespace, &pod).await;
            (pod, res)
        }));
        let (found, early) = tokio::join!(
            super::discover::keda_pods(client, settings, timeout),
            early_reads
        );
        let logs = match (&found.operator, scope) {
            (Ok(pods), Scope::Full) => {
                let pods: Vec<PodInfo> = pods.iter().map(convert::pod).collect();
                let targets = operator_first::log_targets(&pods);
                let here = found.found.namespace == settings.keda_namespace;
                let early = if here { early } else { Vec::new() };
                if here {
                    operator_first::remember(&key, &targets);
                }
                Some(
                    read_operator_logs(client, settings, &found.found.namespace, &targets, early)
                        .await,
                )
            }
            _ => None,
        };
        (found, logs)
    };
    let karpenter_events = read_karpenter_events(client, timeout, ns);
    let node_autoscalers = async {
        tokio::join!(
            read_ca_status(client, timeout),
            read_karpenter_pods(client, timeout, settings.karpenter_namespace.as_deref())
        )
    };
    // The nginx pods' probes (idle floor) and the API server's version
    // (whether it can serve per-HPA tolerance): two small reads in the
    // first wave, never a round of their own.
    let model_reads = async {
        tokio::join!(
            super::nginx::read(client, ns, &settings.nginx_service, timeout),
            async {
                tokio::time::timeout(timeout, client.apiserver_version())
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .map(|v| {
                        crate::domain::text::one_line(
                            &v.git_version.chars().take(64).collect::<String>(),
                        )
                        .into_owned()
                    })
            }
        )
    };

    let (kube_reads, (prom, rules, loki, loki_gateway)) = tokio::join!(
        async {
            tokio::join!(
                discovery_and_karpenter,
                pods,
                deployment,
                scaled_object,
                hpas,
                nodes,
                events,
                operator,
                karpenter_events,
                node_autoscalers,
                model_reads
            )
        },
        http_reads(sources, settings, scope)
    );
    let (
        (discovery, (pools, claims, karpenter_version)),
        pods,
        deployment,
        scaled_object,
        hpas,
        nodes,
        events,
        (keda, operator_logs),
        karpenter_events,
        (ca_status, karpenter_pods),
        (nginx_pods, server_version),
    ) = kube_reads;

    if let Some(e) = no_cluster(
        [
            discovery.as_ref().err(),
            pods.as_ref().err(),
            nodes.as_ref().err(),
            events.as_ref().err(),
        ],
        &sources.server,
        timeout,
    ) {
        return Err(e);
    }

    // KEDA scales a Deployment other than the configured one and
    // `deployment` was not given: the checks judge that one, and every read
    // from here on uses its name (issue 19 item 6).
    let follow = super::target::to_follow(settings, scaled_object.as_ref().ok());
    // The ScaledObject names its HPA other than `keda-hpa-<name>`
    // (`advanced.horizontalPodAutoscalerConfig.name`): the queries that name
    // the HPA are read again by that name, in the same extra round.
    let mut judged = settings.clone();
    if let Some(what) = &follow {
        what.apply(&mut judged);
    }
    if let Some(name) = scaled_object
        .as_ref()
        .ok()
        .and_then(super::target::hpa_name)
    {
        judged.follow_hpa_name(&name);
    }
    let changed = follow.is_some() || judged.hpa_name != settings.hpa_name;
    let judged = &judged;
    // Whether the Prometheus answers were read again below (with `judged`).
    let mut reread = false;
    // The configured Prometheus Service does not exist: read the one the
    // ScaledObject's trigger names (one more round, only then).
    let configured = match &sources.prometheus {
        Ok(api) => api.describe(),
        Err(_) => settings.prometheus.to_string(),
    };
    let mut prometheus_read = configured_prometheus(settings);
    // The tenant KEDA's trigger sends (its customHeaders), used when the
    // prometheusTenant setting is not set.
    let trigger_tenant = scaled_object.as_ref().ok().and_then(trigger_tenant);
    let tenant_of = |api: &HttpApi| -> Option<(String, &'static str)> {
        let t = api.tenant()?.to_string();
        let from = if settings.prometheus_tenant.as_deref() == Some(t.as_str()) {
            "setting"
        } else {
            "ScaledObject trigger"
        };
        Some((t, from))
    };
    let mut used = sources.prometheus.as_ref().ok().cloned();
    let (prom, rules) =
        match trigger_prometheus(sources, prom.1.as_ref(), scaled_object.as_ref().ok()) {
            Some((api, addr)) => {
                let api = api.with_tenant(
                    settings
                        .prometheus_tenant
                        .clone()
                        .or_else(|| trigger_tenant.clone()),
                );
                let (prom2, rules2) = prometheus_reads(&Ok(api.clone()), judged, scope).await;
                reread = true;
                used = Some(api);
                prometheus_read = crate::snapshot::ReadFrom {
                    address: addr.show(),
                    how: "ScaledObject trigger".into(),
                    instead_of: Some(format!(
                        "{configured}: {}",
                        prom.1
                            .as_ref()
                            .map(|f| f.message.as_str())
                            .unwrap_or("not found")
                    )),
                    tenant: None,
                    tenant_from: None,
                };
                (prom2, rules2)
            }
            None => (prom, rules),
        };
    // A multi-tenant Prometheus said `no org id` and no tenant was set: read
    // it again with the tenant KEDA's trigger sends (one more round, only then).
    let (prom, rules) = match (&used, &trigger_tenant) {
        (Some(api), Some(t)) if api.tenant().is_none() && said_no_org_id(prom.1.as_ref()) => {
            let api = api.clone().with_tenant(Some(t.clone()));
            let again = prometheus_reads(&Ok(api.clone()), judged, scope).await;
            reread = true;
            used = Some(api);
            again
        }
        _ => (prom, rules),
    };
    // Following the ScaledObject's target: read that Deployment and its pods,
    // and again the queries whose text names the Deployment (its pods' names)
    // or the HPA, together: one more round, only then.
    let (followed, prom) = if changed {
        let again = async {
            match &used {
                Some(api) if !reread => reread_changed(api, settings, judged, scope, prom).await,
                _ => prom,
            }
        };
        let target = async {
            match &follow {
                Some(what) => Some(super::target::follow(client, settings, what, timeout).await),
                None => None,
            }
        };
        tokio::join!(target, again)
    } else {
        (None, prom)
    };
    let mut scale_target = None;
    let mut target_gap = None;
    let (deployment, pods) = match (followed, &follow) {
        (Some(f), Some(what)) => {
            let (found, gap) = f.found(settings, what);
            (scale_target, target_gap) = (Some(found), gap);
            (f.deployment.unwrap_or(deployment), f.pods.unwrap_or(pods))
        }
        _ => (deployment, pods),
    };
    if let Some((tenant, from)) = used.as_ref().and_then(tenant_of) {
        prometheus_read.tenant = Some(tenant);
        prometheus_read.tenant_from = Some(from.into());
    }
    // The configured Loki Service does not exist and the usual Loki chart's
    // nginx gateway does (`loki-gateway` port 80 in the same namespace,
    // probed in the first wave): read Loki through it (one more round, only then).
    let set = settings.is_set("lokiService") || settings.is_set("lokiUrl");
    let mut loki_read = crate::snapshot::ReadFrom {
        address: shown_address(&settings.loki),
        how: if set { "setting" } else { "default" }.into(),
        instead_of: None,
        tenant: None,
        tenant_from: None,
    };
    let loki = match (loki, loki_gateway) {
        (Some(Err(f)), Some(api)) if f.reason == GapReason::NotFound && !set => {
            let res = with_timeout(
                timeout,
                api.describe(),
                super::loki::collect(&api, &settings.loki_query, settings.loki_tenant.as_deref()),
            )
            .await;
            if let HttpApi::Proxy { service, .. } = &api {
                loki_read = crate::snapshot::ReadFrom {
                    address: service.to_string(),
                    how: crate::snapshot::LOKI_GATEWAY_HOW.into(),
                    instead_of: Some(format!("{}: {}", loki_read.address, f.message)),
                    tenant: None,
                    tenant_from: None,
                };
            }
            Some(res)
        }
        (loki, _) => loki,
    };
    // The ScaledObject is not there: say whether the namespace itself is
    // missing (a typo in -n), and where a ScaledObject for the game is.
    let namespace_missing = match &scaled_object {
        Err(f) if f.reason == GapReason::NotFound => {
            super::discover::missing_namespace(client, timeout, ns, &settings.deployment).await
        }
        _ => None,
    };
    let mut b = SnapshotBuilder::new(snap);
    b.namespace_missing(namespace_missing);
    b.prometheus_read(prometheus_read);
    if scope == Scope::Full {
        b.loki_read(loki_read);
    }
    b.discovery(discovery.as_ref().map_err(Clone::clone));
    b.pods(pods.as_ref().map_err(Clone::clone));
    b.deployment(found(deployment.as_ref().map(|d| &d.0)));
    b.scaled_object(found(scaled_object.as_ref()));
    b.hpas(
        hpas.as_ref()
            .map(|l| l.items.iter().map(|h| &h.0))
            .map_err(Clone::clone),
    );
    b.nodes(nodes.as_ref().map_err(Clone::clone));
    b.events(events.as_ref().map_err(Clone::clone), karpenter_events);
    b.operator_pods(keda.operator.as_ref().map_err(Clone::clone));
    b.keda_found(keda.found);
    if let Some((lines, failure)) = operator_logs {
        b.operator_logs(lines, failure);
    }
    b.metrics_apiserver_pods(keda.metrics_apiserver.as_ref().map_err(Clone::clone));
    b.prometheus_rules(rules);
    b.loki(loki);
    b.node_pools(
        pools.as_ref().map(|l| &l.items).map_err(Clone::clone),
        karpenter_version,
    );
    b.node_claims(claims.as_ref().map(|l| &l.items).map_err(Clone::clone));
    let (answers, failure) = prom;
    b.prometheus(answers, failure);
    let mut snap = b.finish();
    match ca_status {
        Ok(info) => snap.cluster_autoscaler = info,
        Err(f) => snap.gaps.push(f.into_gap("cluster-autoscaler-status")),
    }
    match karpenter_pods {
        Ok(pods) => snap.karpenter_pods = pods,
        Err(f) => snap.gaps.push(f.into_gap("karpenter-pods")),
    }
    snap.nginx_pods = nginx_pods;
    snap.server_version = server_version;
    snap.scale_target = scale_target;
    snap.gaps.extend(target_gap);
    Ok(snap)
}

type PromRead = (
    std::collections::BTreeMap<String, PromAnswer>,
    Option<Failure>,
);

/// The reads over HTTP, all at once: every query's answer (and the
/// Prometheus gap), and for a full scope the alert rules and Loki.
async fn http_reads(
    sources: &Sources,
    settings: &Settings,
    scope: Scope,
) -> (
    PromRead,
    Option<Result<Vec<RuleInfo>, Failure>>,
    Option<Result<LokiData, Failure>>,
    Option<HttpApi>,
) {
    let timeout = settings.request_timeout;
    let full = scope == Scope::Full;
    let loki = async {
        match (&sources.loki, full) {
            (Ok(api), true) => {
                let read = with_timeout(
                    timeout,
                    api.describe(),
                    super::loki::collect(
                        api,
                        &settings.loki_query,
                        settings.loki_tenant.as_deref(),
                    ),
                );
                let (read, gateway) = tokio::join!(read, loki_gateway(api, settings));
                Some((read, gateway))
            }
            (Err(e), true) => Some((
                Err(super::prometheus::Failure {
                    reason: GapReason::Error,
                    message: e.clone(),
                    hint: "check --loki-url".into(),
                }),
                None,
            )),
            _ => None,
        }
    };
    let (prom, loki) = tokio::join!(prometheus_reads(&sources.prometheus, settings, scope), loki);
    let (loki, gateway) = match loki {
        Some((read, gateway)) => (Some(read), gateway),
        None => (None, None),
    };
    (prom.0, prom.1, loki, gateway)
}

/// The grafana/loki chart's gateway beside the configured Loki Service, when
/// the Loki settings are defaults: one cheap GET of its `/` in the same wave
/// as the Loki queries (so finding it costs no round on any path), and the
/// API if the Service exists (anything but the API server's 404 Status).
async fn loki_gateway(configured: &HttpApi, settings: &Settings) -> Option<HttpApi> {
    let HttpApi::Proxy { kube, service, .. } = configured else {
        return None;
    };
    if settings.is_set("lokiService") || settings.is_set("lokiUrl") {
        return None;
    }
    let gateway = crate::settings::ServiceRef {
        namespace: service.namespace.clone(),
        name: LOKI_GATEWAY.0.into(),
        port: LOKI_GATEWAY.1.into(),
    };
    if gateway == *service {
        return None;
    }
    let api = HttpApi::Proxy {
        kube: kube.clone(),
        service: gateway,
        prefix: String::new(),
        tenant: None,
    };
    let (status, body) = tokio::time::timeout(settings.request_timeout, api.get("/", &[]))
        .await
        .ok()?
        .ok()?;
    let missing = status == 404
        && serde_json::from_str::<serde_json::Value>(&body)
            .is_ok_and(|v| v["kind"] == "Status" && v["reason"] == "NotFound");
    (!missing && status != 503).then_some(api)
}

/// Every query against one Prometheus, and for a full scope its alert rules.
async fn prometheus_reads(
    prometheus: &Result<HttpApi, String>,
    settings: &Settings,
    scope: Scope,
) -> (PromRead, Option<Result<Vec<RuleInfo>, Failure>>) {
    let timeout = settings.request_timeout;
    let queries = match scope {
        Scope::Status => promql::status_command_queries(settings),
        Scope::Full => promql::diagnose_queries(settings),
    };
    let full = scope == Scope::Full;
    let rules = async {
        match (prometheus, full) {
            (Ok(api), true) => Some(with_timeout(timeout, api.describe(), api.alert_rules()).await),
            _ => None,
        }
    };
    let prom = async {
        match prometheus {
            Ok(api) => {
                let answers = join_all(queries.iter().map(|q| query_one(api, q, timeout))).await;
                Ok(answers)
            }
            Err(e) => Err(e.clone()),
        }
    };

    let (prom, rules) = tokio::join!(prom, rules);
    let prom = match prom {
        Ok(answers) => prometheus_answers(answers),
        Err(message) => (
            Default::default(),
            Some(Failure {
                reason: GapReason::Error,
                message,
                hint: "check --prometheus-url".into(),
            }),
        ),
    };
    (prom, rules)
}

/// One query with a deadline.
async fn query_one<'q>(
    api: &HttpApi,
    q: &'q promql::Query,
    timeout: Duration,
) -> (&'q promql::Query, Result<Vec<Sample>, Failure>) {
    let res = match tokio::time::timeout(timeout, api.query(&q.promql)).await {
        Ok(r) => r,
        Err(_) => Err(Failure::timed_out(
            &api.describe(),
            timeout,
            "Prometheus is slow or unreachable; raise --request-timeout",
        )),
    };
    (q, res)
}

/// Reads again the queries whose text differs between `before` and `after`
/// (those naming the Deployment's pods or the HPA) and puts their answers
/// in `prom`.
async fn reread_changed(
    api: &HttpApi,
    before: &Settings,
    after: &Settings,
    scope: Scope,
    mut prom: PromRead,
) -> PromRead {
    let queries = |s| match scope {
        Scope::Status => promql::status_command_queries(s),
        Scope::Full => promql::diagnose_queries(s),
    };
    let old = queries(before);
    let changed: Vec<promql::Query> = queries(after)
        .into_iter()
        .filter(|q| !old.iter().any(|o| o.key == q.key && o.promql == q.promql))
        .collect();
    let timeout = after.request_timeout;
    let answers = join_all(changed.iter().map(|q| query_one(api, q, timeout))).await;
    let (answers, failure) = prometheus_answers(answers);
    prom.0.extend(answers);
    if prom.1.is_none() {
        prom.1 = failure;
    }
    prom
}

/// The `serverAddress` of a ScaledObject's first prometheus trigger.
fn trigger_server_address(so: &DynamicObject) -> Option<String> {
    so.data["spec"]["triggers"]
        .as_array()?
        .iter()
        .find(|t| t["type"] == "prometheus")?["metadata"]["serverAddress"]
        .as_str()
        .map(str::to_string)
}

/// The tenant in the `customHeaders` of a ScaledObject's first prometheus trigger.
pub(super) fn trigger_tenant(so: &DynamicObject) -> Option<String> {
    let headers = so.data["spec"]["triggers"]
        .as_array()?
        .iter()
        .find(|t| t["type"] == "prometheus")?["metadata"]["customHeaders"]
        .as_str()?;
    crate::domain::address::tenant_of_custom_headers(headers)
}

/// For a command that reads Prometheus without collecting (`report`, the
/// history of `watch`): what the ScaledObject's trigger says to read instead
/// (one GET of the ScaledObject, only after such an error), else `None`:
/// - `error` is `401 no org id` and no tenant is set: the same Prometheus
///   with the tenant the trigger sends;
/// - `error` is the service proxy's `services "NAME" not found`: the
///   Prometheus the trigger's `serverAddress` names, with the set tenant or
///   the trigger's.
pub async fn with_trigger_tenant(
    kube: &kube::Client,
    prometheus: &Result<HttpApi, String>,
    settings: &Settings,
    error: Option<&str>,
) -> Option<HttpApi> {
    let api = prometheus.as_ref().ok()?;
    let wants_tenant =
        api.tenant().is_none() && error.is_some_and(|e| e.ends_with("HTTP 401: no org id"));
    // The configured Prometheus Service does not exist: read the one the
    // trigger names, as `diagnose` does.
    let missing = matches!(api, HttpApi::Proxy { .. }) && error.is_some_and(service_not_found);
    if !wants_tenant && !missing {
        return None;
    }
    let so_api: Api<Lenient<DynamicObject>> = Api::namespaced_with(
        kube.clone(),
        &settings.namespace,
        &keda_resource("ScaledObject", "scaledobjects"),
    );
    let target = ReadTarget {
        verb: "get",
        resource: "scaledobjects",
        group: "keda.sh",
        namespace: Some(&settings.namespace),
    };
    let so = read(
        settings.request_timeout,
        target,
        so_api.get(&settings.scaled_object),
    )
    .await
    .ok()?;
    let tenant = api
        .tenant()
        .map(str::to_string)
        .or_else(|| trigger_tenant(&so.0));
    if missing {
        let (other, _) = trigger_api(api, &so.0)?;
        return Some(other.with_tenant(tenant));
    }
    Some(api.clone().with_tenant(Some(tenant?)))
}

/// Whether a Prometheus read failed because the Service it goes through
/// does not exist: the service proxy's 404, kube-apiserver's
/// `services "NAME" not found`.
fn service_not_found(error: &str) -> bool {
    error.contains(": services \"") && error.ends_with("\" not found")
}

/// The Prometheus the ScaledObject's trigger names (`serverAddress`), when
/// `api` reads another in-cluster Service: the one KEDA itself reads, with
/// its address as said.
pub(super) fn trigger_api(
    api: &HttpApi,
    scaled_object: &DynamicObject,
) -> Option<(HttpApi, crate::domain::address::ServiceAddress)> {
    let HttpApi::Proxy { kube, service, .. } = api else {
        return None;
    };
    let addr = crate::domain::address::service_address(&trigger_server_address(scaled_object)?)?;
    if addr.service == *service && addr.prefix.is_empty() {
        return None;
    }
    let other = HttpApi::Proxy {
        kube: kube.clone(),
        service: addr.service.clone(),
        prefix: addr.prefix.clone(),
        tenant: None,
    };
    Some((other, addr))
}

/// Whether Prometheus answered `401 no org id` (it wants a tenant).
pub(super) fn said_no_org_id(failure: Option<&Failure>) -> bool {
    failure.is_some_and(|f| {
        f.reason == GapReason::Unauthorized && f.message.ends_with("HTTP 401: no org id")
    })
}

/// When the configured Prometheus Service does not exist (the proxy's 404),
/// the Prometheus the ScaledObject's trigger names, if it is another
/// in-cluster Service: the one KEDA itself reads.
fn trigger_prometheus(
    sources: &Sources,
    failure: Option<&Failure>,
    scaled_object: Option<&DynamicObject>,
) -> Option<(HttpApi, crate::domain::address::ServiceAddress)> {
    if failure.is_none_or(|f| f.reason != GapReason::NotFound) {
        return None;
    }
    trigger_api(sources.prometheus.as_ref().ok()?, scaled_object?)
}

/// An endpoint as the header shows it: `NS/NAME:PORT`, or the URL without
/// credentials.
/// The configured Prometheus as the headers name it (`setting` or
/// `default`), before any other is read in its place.
pub fn configured_prometheus(settings: &Settings) -> crate::snapshot::ReadFrom {
    let how = if settings.is_set("prometheusService") || settings.is_set("prometheusUrl") {
        "setting"
    } else {
        "default"
    };
    crate::snapshot::ReadFrom {
        address: shown_address(&settings.prometheus),
        how: how.into(),
        instead_of: None,
        tenant: None,
        tenant_from: None,
    }
}

fn shown_address(endpoint: &Endpoint) -> String {
    match endpoint {
        Endpoint::Service(s) => s.to_string(),
        Endpoint::Url(u) => crate::settings::redact_url(u),
    }
}

/// No cluster at all: every basic Kubernetes read (discovery, pods, nodes,
/// events) failed for lack of a server or of valid credentials. Anything
/// less is a partial status with gaps, so `None`.
pub(super) fn no_cluster(
    reads: [Option<&Failure>; 4],
    server: &str,
    timeout: Duration,
) -> Option<Error> {
    if reads.iter().any(|f| f.is_none()) {
        return None;
    }
    let failures: Vec<&Failure> = reads.into_iter().flatten().collect();
    if failures.iter().any(|f| f.reason == GapReason::Unauthorized) {
        return Some(Error::Unauthorized {
            server: server.to_string(),
        });
    }
    if !failures
        .iter()
        .all(|f| matches!(f.reason, GapReason::Unreachable | GapReason::Timeout))
    {
        return None;
    }
    let first = failures[0];
    Some(if first.reason == GapReason::Timeout {
        Error::Timeout {
            server: server.to_string(),
            seconds: timeout.as_secs(),
        }
    } else {
        Error::Unreachable {
            server: server.to_string(),
            message: first.message.clone(),
        }
    })
}

/// A single object's read: not found is an answer (`None`), not a gap.
fn found<'a, T>(read: Result<&'a T, &Failure>) -> Result<Option<&'a T>, Failure> {
    match read {
        Ok(v) => Ok(Some(v)),
        Err(f) if f.reason == GapReason::NotFound => Ok(None),
        Err(f) => Err(f.clone()),
    }
}

/// Each query's answer by its key (a failed one keeps its error), and the
/// first failure, which becomes the Prometheus gap.
fn prometheus_answers(
    answers: Vec<(&promql::Query, Result<Vec<Sample>, Failure>)>,
) -> (
    std::collections::BTreeMap<String, PromAnswer>,
    Option<Failure>,
) {
    let mut out = std::collections::BTreeMap::new();
    let mut failure = None;
    for (q, res) in answers {
        let answer = match res {
            Ok(samples) => super::prometheus::answer(q, samples),
            Err(f) => {
                let message = f.message.clone();
                failure.get_or_insert(f);
                PromAnswer {
                    query: q.promql.clone(),
                    samples: None,
                    error: Some(message),
                }
            }
        };
        out.insert(q.key.to_string(), answer);
    }
    (out, failure)
}

#[cfg(test)]
mod tests {
    use crate::cluster::error::is_unserved_path;
    use kube::core::Status;

    #[test]
    fn a_plain_text_404_is_an_unserved_path_and_a_named_one_a_missing_object() {
        // What kube-rs builds from the apiserver's `404 page not found` body.
        let plain =
            Status::failure("404 page not found", "Failed to parse error data").with_code(404);
        assert!(is_unserved_path(&plain));
        let missing: Status = serde_json::from_str(
            r#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"scaledobjects.keda.sh \"spice-runner-keda\" not found","reason":"NotFound","details":{"name":"spice-runner-keda","group":"keda.sh","kind":"scaledobjects"},"code":404}"#,
        )
        .unwrap();
        assert!(!is_unserved_path(&missing));
        let forbidden = Status::failure("forbidden", "Forbidden").with_code(403);
        assert!(!is_unserved_path(&forbidden));
    }
}
