//! One concurrent collect step → a Snapshot. Every read is issued at once with
//! its own timeout; a failed read becomes a gap, never an abort. Only "no
//! cluster at all" (every API read unreachable, or 401) is an error.

use super::convert;
use super::error::{Error, ReadFailure, ReadTarget, classify};
use super::prometheus::HttpApi;
use super::promql;
use crate::settings::{Endpoint, Settings};
use crate::snapshot::*;
use futures::future::join_all;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Event, Node, Pod};
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
        );
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

fn keda_resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: "keda.sh".into(),
        version: "v1alpha1".into(),
        api_version: "keda.sh/v1alpha1".into(),
        kind: kind.into(),
        plural: plural.into(),
    }
}

fn karpenter_resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: "karpenter.sh".into(),
        version: "v1".into(),
        api_version: "karpenter.sh/v1".into(),
        kind: kind.into(),
        plural: plural.into(),
    }
}

/// Runs a read with a deadline and words its failure.
async fn read<T, F>(timeout: Duration, target: ReadTarget<'_>, fut: F) -> Result<T, ReadFailure>
where
    F: Future<Output = Result<T, kube::Error>>,
{
    match tokio::time::timeout(timeout, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(classify(&e, target)),
        Err(_) => Err(ReadFailure {
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
    fut: impl Future<Output = Result<T, super::prometheus::ApiFailure>>,
) -> Result<T, super::prometheus::ApiFailure> {
    match tokio::time::timeout(timeout, fut).await {
        Ok(r) => r,
        Err(_) => Err(super::prometheus::ApiFailure {
            reason: GapReason::Timeout,
            message: format!("{what}: no answer within {}s", timeout.as_secs_f64()),
            hint: "the service is slow or unreachable; raise --request-timeout".into(),
        }),
    }
}

/// How many operator log lines a snapshot keeps (the newest).
const OPERATOR_LOG_LINES: usize = 50;

/// Reads the KEDA operator's recent logs and keeps the lines about this
/// ScaledObject or its scalers. A second round trip: it needs the pod names.
async fn read_operator_logs(
    client: &kube::Client,
    settings: &Settings,
    pods: &[PodInfo],
    snap: &mut Snapshot,
) {
    let api: Api<Pod> = Api::namespaced(client.clone(), &settings.keda_namespace);
    let reads = pods.iter().filter(|p| p.phase == "Running").map(|p| {
        let container = p
            .containers
            .iter()
            .find(|c| c.name.contains("keda-operator"))
            .or_else(|| p.containers.first())
            .map(|c| c.name.clone());
        let params = kube::api::LogParams {
            container,
            tail_lines: Some(500),
            since_seconds: Some(1800),
            ..Default::default()
        };
        let api = api.clone();
        let name = p.name.clone();
        let ns = settings.keda_namespace.clone();
        async move {
            let target = ReadTarget {
                verb: "get",
                resource: "pods/log",
                group: "",
                namespace: Some(ns.as_str()),
            };
            let res = read(settings.request_timeout, target, api.logs(&name, &params)).await;
            (name, res)
        }
    });
    let mut lines = Vec::new();
    let mut failure = None;
    for (pod, res) in join_all(reads).await {
        match res {
            Ok(text) => {
                for line in text.lines() {
                    if is_relevant_log_line(line, &settings.namespace, &settings.scaled_object) {
                        lines.push(LogLine {
                            pod: pod.clone(),
                            line: line.trim_end().to_string(),
                        });
                    }
                }
            }
            Err(f) => failure = Some(f),
        }
    }
    if let Some(f) = failure {
        snap.gaps.push(f.into_gap("keda-operator-logs"));
        if lines.is_empty() {
            return;
        }
    }
    let keep_from = lines.len().saturating_sub(OPERATOR_LOG_LINES);
    snap.operator_logs = Some(lines.split_off(keep_from));
}

/// A KEDA operator line about this ScaledObject, or a scaler error (which
/// names the ScaledObject in its JSON fields).
pub fn is_relevant_log_line(line: &str, namespace: &str, scaled_object: &str) -> bool {
    let names_it = line.contains(&format!("\"{scaled_object}\""))
        || line.contains(&format!("{namespace}/{scaled_object}"))
        || line.contains(&format!("\"name\": \"{scaled_object}\""));
    let scaler_error = (line.contains("prometheus_scaler") || line.contains("scale_handler"))
        && (line.contains("ERROR") || line.contains("error"));
    names_it || (scaler_error && (line.contains(scaled_object) || !line.contains("\"name\"")))
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

    let pods_api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let operator_api: Api<Pod> = Api::namespaced(client.clone(), &settings.keda_namespace);
    let deploy_api: Api<Deployment> = Api::namespaced(client.clone(), ns);
    let hpa_api: Api<HorizontalPodAutoscaler> = Api::namespaced(client.clone(), ns);
    let node_api: Api<Node> = Api::all(client.clone());
    let event_api: Api<Event> = Api::namespaced(client.clone(), ns);
    let so_api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        ns,
        &keda_resource("ScaledObject", "scaledobjects"),
    );
    let pool_api: Api<DynamicObject> =
        Api::all_with(client.clone(), &karpenter_resource("NodePool", "nodepools"));
    let claim_api: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &karpenter_resource("NodeClaim", "nodeclaims"),
    );

    let all = ListParams::default();
    let pod_params = ListParams::default().labels(&settings.selector);
    let operator_params = ListParams::default().labels(&settings.keda_operator_selector);
    let t = |verb, resource, group, namespace| ReadTarget {
        verb,
        resource,
        group,
        namespace,
    };

    let discovery = read(
        timeout,
        t("get", "apis", "", None),
        client.list_api_groups(),
    );
    let pods = read(
        timeout,
        t("list", "pods", "", Some(ns)),
        pods_api.list(&pod_params),
    );
    let deployment = read(
        timeout,
        t("get", "deployments", "apps", Some(ns)),
        deploy_api.get(&settings.deployment),
    );
    let scaled_object = read(
        timeout,
        t("get", "scaledobjects", "keda.sh", Some(ns)),
        so_api.get(&settings.scaled_object),
    );
    let hpas = read(
        timeout,
        t("list", "horizontalpodautoscalers", "autoscaling", Some(ns)),
        hpa_api.list(&all),
    );
    let nodes = read(timeout, t("list", "nodes", "", None), node_api.list(&all));
    let events = read(
        timeout,
        t("list", "events", "", Some(ns)),
        event_api.list(&all),
    );
    let operator = read(
        timeout,
        t("list", "pods", "", Some(settings.keda_namespace.as_str())),
        operator_api.list(&operator_params),
    );
    let pools = read(
        timeout,
        t("list", "nodepools", "karpenter.sh", None),
        pool_api.list(&all),
    );
    let claims = read(
        timeout,
        t("list", "nodeclaims", "karpenter.sh", None),
        claim_api.list(&all),
    );

    let queries = match scope {
        Scope::Status => promql::status_queries(settings),
        Scope::Full => promql::diagnose_queries(settings),
    };
    let full = scope == Scope::Full;
    let rules = async {
        match (&sources.prometheus, full) {
            (Ok(api), true) => Some(with_timeout(timeout, api.describe(), api.alert_rules()).await),
            _ => None,
        }
    };
    let loki = async {
        match (&sources.loki, full) {
            (Ok(api), true) => Some(
                with_timeout(
                    timeout,
                    api.describe(),
                    super::loki::collect(api, &settings.loki_query),
                )
                .await,
            ),
            (Err(e), true) => Some(Err(super::prometheus::ApiFailure {
                reason: GapReason::Error,
                message: e.clone(),
                hint: "check --loki-url".into(),
            })),
            _ => None,
        }
    };
    let prom_reads = async {
        match &sources.prometheus {
            Ok(api) => {
                let answers = join_all(queries.iter().map(|q| async move {
                    let res = match tokio::time::timeout(timeout, api.query(&q.promql)).await {
                        Ok(r) => r,
                        Err(_) => Err(super::prometheus::ApiFailure {
                            reason: GapReason::Timeout,
                            message: format!(
                                "{}: no answer within {}s",
                                api.describe(),
                                timeout.as_secs_f64()
                            ),
                            hint: "Prometheus is slow or unreachable; raise --request-timeout"
                                .into(),
                        }),
                    };
                    (q, res)
                }))
                .await;
                Ok(answers)
            }
            Err(e) => Err(e.clone()),
        }
    };

    let (kube_reads, prom, rules, loki) = tokio::join!(
        async {
            tokio::join!(
                discovery,
                pods,
                deployment,
                scaled_object,
                hpas,
                nodes,
                events,
                operator,
                pools,
                claims
            )
        },
        prom_reads,
        rules,
        loki
    );
    let (discovery, pods, deployment, scaled_object, hpas, nodes, events, operator, pools, claims) =
        kube_reads;

    // No cluster at all: every Kubernetes read failed for lack of a server or
    // of valid credentials. Anything less is a partial status with gaps.
    let all: [Option<&ReadFailure>; 4] = [
        discovery.as_ref().err(),
        pods.as_ref().err(),
        nodes.as_ref().err(),
        events.as_ref().err(),
    ];
    if all.iter().all(|f| f.is_some()) {
        let failures: Vec<&ReadFailure> = all.iter().flatten().copied().collect();
        if failures.iter().any(|f| f.reason == GapReason::Unauthorized) {
            return Err(Error::Unauthorized {
                server: sources.server.clone(),
            });
        }
        if failures
            .iter()
            .all(|f| matches!(f.reason, GapReason::Unreachable | GapReason::Timeout))
        {
            let first = failures[0];
            if first.reason == GapReason::Timeout {
                return Err(Error::Timeout {
                    server: sources.server.clone(),
                    seconds: timeout.as_secs(),
                });
            }
            return Err(Error::Unreachable {
                server: sources.server.clone(),
                message: first.message.clone(),
            });
        }
    }

    match discovery {
        Ok(groups) => {
            let has = |g: &str| groups.groups.iter().any(|x| x.name == g);
            snap.apis = Apis {
                keda: Some(has("keda.sh")),
                karpenter: Some(has("karpenter.sh")),
            };
        }
        Err(f) => snap.gaps.push(f.into_gap("discovery")),
    }
    match pods {
        Ok(list) => {
            let mut v: Vec<PodInfo> = list.items.iter().map(convert::pod).collect();
            v.sort_by(|a, b| a.name.cmp(&b.name));
            snap.pods = Some(v);
        }
        Err(f) => snap.gaps.push(f.into_gap("pods")),
    }
    match deployment {
        Ok(d) => snap.deployment = Some(Lookup::Found(convert::deployment(&d))),
        Err(f) if f.reason == GapReason::NotFound => snap.deployment = Some(Lookup::Missing),
        Err(f) => snap.gaps.push(f.into_gap("deployment")),
    }
    match scaled_object {
        Ok(obj) => {
            let value = serde_json::to_value(&obj).unwrap_or_default();
            snap.scaled_object = Some(Lookup::Found(convert::scaled_object(&value)));
        }
        Err(f) if f.reason == GapReason::NotFound => snap.scaled_object = Some(Lookup::Missing),
        Err(f) => snap.gaps.push(f.into_gap("scaledobject")),
    }
    match hpas {
        Ok(list) => {
            let mut v: Vec<HpaInfo> = list.items.iter().map(convert::hpa).collect();
            v.sort_by(|a, b| a.name.cmp(&b.name));
            snap.hpas = Some(v);
        }
        Err(f) => snap.gaps.push(f.into_gap("hpa")),
    }
    match nodes {
        Ok(list) => {
            let mut v: Vec<NodeInfo> = list.items.iter().map(convert::node).collect();
            v.sort_by(|a, b| a.name.cmp(&b.name));
            snap.nodes = Some(v);
        }
        Err(f) => snap.gaps.push(f.into_gap("nodes")),
    }
    match events {
        Ok(list) => {
            let mut v: Vec<EventInfo> = list.items.iter().map(convert::event).collect();
            v.sort_by(|a, b| {
                b.last_seen
                    .cmp(&a.last_seen)
                    .then_with(|| a.reason.cmp(&b.reason))
            });
            snap.events = Some(v);
        }
        Err(f) => snap.gaps.push(f.into_gap("events")),
    }
    match operator {
        Ok(list) => {
            let mut v: Vec<PodInfo> = list.items.iter().map(convert::pod).collect();
            v.sort_by(|a, b| a.name.cmp(&b.name));
            if full {
                read_operator_logs(client, settings, &v, &mut snap).await;
            }
            snap.operator_pods = Some(v);
        }
        Err(f) => snap.gaps.push(f.into_gap("keda-operator")),
    }
    match rules {
        Some(Ok(r)) => snap.prometheus_rules = Some(r),
        // When the query gap already says Prometheus is down, say it once.
        Some(Err(f)) if !snap.gaps.iter().any(|g| g.source == "prometheus") => {
            snap.gaps.push(Gap {
                source: "prometheus-rules".into(),
                reason: f.reason,
                message: f.message,
                hint: f.hint,
            });
        }
        _ => {}
    }
    match loki {
        Some(Ok(data)) => snap.loki = Some(data),
        Some(Err(f)) => {
            let hint = if f.reason == GapReason::NotFound {
                "no Loki at the lokiService setting; set --loki-url or lokiService NS/SVC:PORT"
                    .to_string()
            } else {
                f.hint
            };
            snap.gaps.push(Gap {
                source: "loki".into(),
                reason: f.reason,
                message: f.message,
                hint,
            });
        }
        None => {}
    }
    match pools {
        Ok(list) => {
            let mut v: Vec<NodePoolInfo> = list
                .items
                .iter()
                .map(|o| convert::node_pool(&serde_json::to_value(o).unwrap_or_default()))
                .collect();
            v.sort_by(|a, b| a.name.cmp(&b.name));
            snap.node_pools = Some(v);
        }
        Err(f) => snap.gaps.push(f.into_gap("nodepools")),
    }
    match claims {
        Ok(list) => {
            let mut v: Vec<NodeClaimInfo> = list
                .items
                .iter()
                .map(|o| convert::node_claim(&serde_json::to_value(o).unwrap_or_default()))
                .collect();
            v.sort_by(|a, b| a.name.cmp(&b.name));
            snap.node_claims = Some(v);
        }
        Err(f) => snap.gaps.push(f.into_gap("nodeclaims")),
    }

    match prom {
        Ok(answers) => {
            let mut failure = None;
            for (q, res) in answers {
                let answer = match res {
                    Ok(samples) => super::prometheus::answer(q, samples),
                    Err(f) => {
                        let message = f.message.clone();
                        if failure.is_none() {
                            failure = Some(f);
                        }
                        PromAnswer {
                            query: q.promql.clone(),
                            samples: None,
                            error: Some(message),
                        }
                    }
                };
                snap.prometheus.insert(q.key.to_string(), answer);
            }
            if let Some(f) = failure {
                snap.gaps.push(Gap {
                    source: "prometheus".into(),
                    reason: f.reason,
                    message: f.message,
                    hint: f.hint,
                });
            }
        }
        Err(message) => snap.gaps.push(Gap {
            source: "prometheus".into(),
            reason: GapReason::Error,
            message,
            hint: "check --prometheus-url".into(),
        }),
    }
    Ok(snap)
}
