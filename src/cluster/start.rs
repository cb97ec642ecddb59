//! What `watch` reads once at start: only what its watchers do not list
//! (API discovery, Karpenter's NodePools and NodeClaims, the KEDA operator
//! and metrics API server pods). Pods, nodes, HPAs, events, the Deployment
//! and the ScaledObject come from the watchers' own initial lists, and
//! Prometheus from its poller, so nothing is read twice at start.

use super::build::SnapshotBuilder;
use super::collect::{
    KARPENTER_V1, Sources, karpenter_fallback, karpenter_versions, no_cluster, read, read_karpenter,
};
use super::error::{Error, ReadTarget};
use crate::settings::Settings;
use crate::snapshot::Snapshot;

/// Reads what is not watched, concurrently. "No cluster at all" (every one
/// of these reads unreachable, or 401) is the same error as `collect::run`'s,
/// so a watch with no cluster still exits 2 at once.
pub async fn unwatched(
    sources: &Sources,
    settings: &Settings,
    captured_at: jiff::Timestamp,
) -> Result<Snapshot, Error> {
    let client = &sources.kube;
    let timeout = settings.request_timeout;
    let mut snap = Snapshot::new(captured_at, &settings.namespace);
    snap.context = sources.context.clone();
    snap.server = Some(sources.server.clone());

    let t = |verb, resource, namespace| ReadTarget {
        verb,
        resource,
        group: "",
        namespace,
    };
    let (discovery, keda, karpenter) = tokio::join!(
        read(timeout, t("get", "apis", None), client.list_api_groups()),
        super::discover::keda_pods(client, settings, timeout),
        read_karpenter(client, timeout, KARPENTER_V1),
    );
    if let Some(e) = no_cluster(
        [
            discovery.as_ref().err(),
            keda.operator.as_ref().err(),
            keda.metrics_apiserver.as_ref().err(),
            karpenter.0.as_ref().err(),
        ],
        &sources.server,
        timeout,
    ) {
        return Err(e);
    }
    let discovered = discovery.as_ref().ok().map(karpenter_versions);
    let (pools, claims, karpenter_version) =
        karpenter_fallback(client, timeout, discovered.as_deref(), karpenter).await;
    let mut b = SnapshotBuilder::new(snap);
    b.discovery(discovery.as_ref().map_err(Clone::clone));
    b.operator_pods(keda.operator.as_ref().map_err(Clone::clone));
    b.keda_found(keda.found);
    b.metrics_apiserver_pods(keda.metrics_apiserver.as_ref().map_err(Clone::clone));
    b.node_pools(
        pools.as_ref().map(|l| &l.items).map_err(Clone::clone),
        karpenter_version,
    );
    b.node_claims(claims.as_ref().map(|l| &l.items).map_err(Clone::clone));
    Ok(b.finish())
}
