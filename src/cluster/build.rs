//! The one place where what was read becomes the Snapshot: each source's
//! objects are converted, sorted the same way every time, and a source that
//! could not be read becomes its gap. Both the one-shot lists
//! (`cluster::collect`) and the watch stores (`cluster::live`) feed it, so a
//! new Snapshot field is filled here once, for both.

use super::convert;
use super::error::Failure;
use super::wire::{Deployment, Event, Node, Pod};
use crate::snapshot::*;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIGroupList;
use kube::api::DynamicObject;
use std::collections::BTreeMap;

/// One source's read: its objects, or why they could not be read.
pub type Read<I> = Result<I, Failure>;

/// A summary listed by name: lists are sorted by it so two reads of the same
/// cluster give the same Snapshot (and the same output) whatever order the
/// server or the store returned.
trait Named {
    fn name(&self) -> &str;
}

macro_rules! named {
    ($($t:ty),*) => {
        $(impl Named for $t {
            fn name(&self) -> &str {
                &self.name
            }
        })*
    };
}

named!(PodInfo, NodeInfo, HpaInfo, NodePoolInfo, NodeClaimInfo);

/// Converts and sorts a list read, or records its gap (`None` then).
fn list<'a, K: 'a, T: Named>(
    gaps: &mut Vec<Gap>,
    source: &str,
    read: Read<impl IntoIterator<Item = &'a K>>,
    convert: impl Fn(&K) -> T,
) -> Option<Vec<T>> {
    match read {
        Ok(items) => {
            let mut v: Vec<T> = items.into_iter().map(convert).collect();
            v.sort_by(|a, b| a.name().cmp(b.name()));
            Some(v)
        }
        Err(f) => {
            gaps.push(f.into_gap(source));
            None
        }
    }
}

/// Pods as [`SnapshotBuilder::pods`] converts and orders them.
pub fn converted_pods<'a>(items: impl IntoIterator<Item = &'a Pod>) -> Vec<PodInfo> {
    list(&mut Vec::new(), "pods", Ok(items), convert::pod).unwrap_or_default()
}

/// Nodes as [`SnapshotBuilder::nodes`] converts and orders them.
pub fn converted_nodes<'a>(items: impl IntoIterator<Item = &'a Node>) -> Vec<NodeInfo> {
    list(&mut Vec::new(), "nodes", Ok(items), convert::node).unwrap_or_default()
}

/// The Snapshot under construction. Gaps are recorded in the order the
/// sources are given, which the callers keep fixed.
pub struct SnapshotBuilder {
    snap: Snapshot,
}

impl SnapshotBuilder {
    pub fn new(snap: Snapshot) -> SnapshotBuilder {
        SnapshotBuilder { snap }
    }

    /// What is built so far (e.g. the operator pods whose logs are read next).
    pub fn get(&self) -> &Snapshot {
        &self.snap
    }

    pub fn finish(self) -> Snapshot {
        self.snap
    }

    /// Records that `source` could not be read.
    pub fn gap(&mut self, source: &str, failure: Failure) {
        self.snap.gaps.push(failure.into_gap(source));
    }

    /// Which optional APIs the cluster serves (KEDA, Karpenter).
    pub fn discovery(&mut self, read: Read<&APIGroupList>) {
        match read {
            Ok(groups) => {
                let has = |g: &str| groups.groups.iter().any(|x| x.name == g);
                self.snap.apis.keda = Some(has("keda.sh"));
                self.snap.apis.karpenter = Some(has("karpenter.sh"));
            }
            Err(f) => self.gap("discovery", f),
        }
    }

    pub fn pods<'a>(&mut self, read: Read<impl IntoIterator<Item = &'a Pod>>) {
        self.snap.pods = list(&mut self.snap.gaps, "pods", read, convert::pod);
    }

    pub fn operator_pods<'a>(&mut self, read: Read<impl IntoIterator<Item = &'a Pod>>) {
        self.snap.operator_pods = list(&mut self.snap.gaps, "keda-operator", read, convert::pod);
    }

    /// The namespaces holding the game's ScaledObject when the configured
    /// namespace does not exist.
    pub fn namespace_missing(&mut self, elsewhere: Option<Vec<String>>) {
        self.snap.namespace_missing = elsewhere;
    }

    /// The Loki read and why that one.
    pub fn loki_read(&mut self, read: crate::snapshot::ReadFrom) {
        self.snap.loki_read = Some(read);
    }

    /// The Prometheus read and why that one.
    pub fn prometheus_read(&mut self, read: crate::snapshot::ReadFrom) {
        self.snap.prometheus_read = Some(read);
    }

    /// Where KEDA's pods were found (`discover`).
    pub fn keda_found(&mut self, found: crate::snapshot::KedaFound) {
        self.snap.keda_found = Some(found);
    }

    pub fn metrics_apiserver_pods<'a>(&mut self, read: Read<impl IntoIterator<Item = &'a Pod>>) {
        self.snap.metrics_apiserver_pods = list(
            &mut self.snap.gaps,
            "keda-metrics-apiserver",
            read,
            convert::pod,
        );
    }

    pub fn nodes<'a>(&mut self, read: Read<impl IntoIterator<Item = &'a Node>>) {
        self.snap.nodes = list(&mut self.snap.gaps, "nodes", read, convert::node);
    }

    /// Pods converted and ordered already, by [`converted_pods`] (`watch`
    /// converts a store once per change, not every frame).
    pub fn pods_converted(&mut self, pods: Vec<PodInfo>) {
        self.snap.pods = Some(pods);
    }

    /// Nodes converted and ordered already, by [`converted_nodes`].
    pub fn nodes_converted(&mut self, nodes: Vec<NodeInfo>) {
        self.snap.nodes = Some(nodes);
    }

    pub fn hpas<'a>(&mut self, read: Read<impl IntoIterator<Item = &'a HorizontalPodAutoscaler>>) {
        self.snap.hpas = list(&mut self.snap.gaps, "hpa", read, convert::hpa);
    }

    /// The game namespace's events, with Karpenter's from `default` when
    /// they were read separately; newest first.
    pub fn events<'a>(
        &mut self,
        read: Read<impl IntoIterator<Item = &'a Event>>,
        karpenter: Option<Read<Vec<EventInfo>>>,
    ) {
        let items = match read {
            Ok(items) => items,
            Err(f) => return self.gap("events", f),
        };
        let mut v: Vec<EventInfo> = items.into_iter().map(convert::event).collect();
        match karpenter {
            Some(Ok(extra)) => v.extend(extra),
            Some(Err(f)) => self.gap("karpenter-events", f),
            None => {}
        }
        v.sort_by(|a, b| {
            b.last_seen
                .cmp(&a.last_seen)
                .then_with(|| a.reason.cmp(&b.reason))
        });
        self.snap.events = Some(v);
    }

    /// The Deployment KEDA scales: `Ok(None)` is a read that found none.
    pub fn deployment(&mut self, read: Read<Option<&Deployment>>) {
        match read {
            Ok(found) => {
                self.snap.deployment = Some(match found {
                    Some(d) => Lookup::Found(convert::deployment(d)),
                    None => Lookup::Missing,
                })
            }
            Err(f) => self.gap("deployment", f),
        }
    }

    /// The ScaledObject: `Ok(None)` is a read that found none.
    pub fn scaled_object(&mut self, read: Read<Option<&DynamicObject>>) {
        match read {
            Ok(found) => {
                self.snap.scaled_object = Some(match found {
                    Some(o) => {
                        let value = serde_json::to_value(o).unwrap_or_default();
                        Lookup::Found(convert::scaled_object(&value))
                    }
                    None => Lookup::Missing,
                })
            }
            Err(f) => self.gap("scaledobject", f),
        }
    }

    /// Karpenter's NodePools, read at `version` (after the nodes, whose
    /// labels count a pool's nodes when its status does not).
    pub fn node_pools<'a>(
        &mut self,
        read: Read<impl IntoIterator<Item = &'a DynamicObject>>,
        version: &str,
    ) {
        let to_pool =
            |o: &DynamicObject| convert::node_pool(&serde_json::to_value(o).unwrap_or_default());
        if let Some(mut pools) = list(&mut self.snap.gaps, "nodepools", read, to_pool) {
            count_pool_nodes(&mut pools, self.snap.nodes.as_deref());
            self.snap.node_pools = Some(pools);
            self.snap.apis.karpenter_version = Some(version.to_string());
        }
    }

    pub fn node_claims<'a>(&mut self, read: Read<impl IntoIterator<Item = &'a DynamicObject>>) {
        let to_claim =
            |o: &DynamicObject| convert::node_claim(&serde_json::to_value(o).unwrap_or_default());
        self.snap.node_claims = list(&mut self.snap.gaps, "nodeclaims", read, to_claim);
    }

    /// The KEDA operator's kept log lines; a failed read of some pods is a
    /// gap, and the lines of the others are still kept.
    pub fn operator_logs(&mut self, lines: Option<Vec<LogLine>>, failure: Option<Failure>) {
        if let Some(f) = failure {
            self.gap("keda-operator-logs", f);
        }
        if lines.is_some() {
            self.snap.operator_logs = lines;
        }
    }

    /// The alerting rules Prometheus has loaded (`None`: not read in this scope).
    pub fn prometheus_rules(&mut self, read: Option<Read<Vec<RuleInfo>>>) {
        match read {
            Some(Ok(r)) => self.snap.prometheus_rules = Some(r),
            // When the query gap already says Prometheus is down, say it once.
            Some(Err(f)) if !self.snap.gaps.iter().any(|g| g.source == "prometheus") => {
                self.gap("prometheus-rules", f)
            }
            _ => {}
        }
    }

    /// What Loki says about heartbeats (`None`: not read in this scope).
    pub fn loki(&mut self, read: Option<Read<LokiData>>) {
        match read {
            Some(Ok(data)) => self.snap.loki = Some(data),
            Some(Err(mut f)) => {
                if f.reason == GapReason::NotFound {
                    f.hint = "no Loki at the lokiService setting; set --loki-url or lokiService NS/SVC:PORT".into();
                }
                self.gap("loki", f);
            }
            None => {}
        }
    }

    /// Prometheus's answers by query key, and the first failure among them.
    pub fn prometheus(&mut self, answers: BTreeMap<String, PromAnswer>, failure: Option<Failure>) {
        self.snap.prometheus = answers;
        if let Some(f) = failure {
            self.gap("prometheus", f);
        }
    }
}

/// A v1beta1 NodePool (and a v1 one before v1.1) has no `status.nodes`:
/// count the nodes that carry its `karpenter.sh/nodepool` label instead, so
/// "0 nodes" is never said of a pool that has some.
fn count_pool_nodes(pools: &mut [NodePoolInfo], nodes: Option<&[NodeInfo]>) {
    let Some(nodes) = nodes else { return };
    for pool in pools.iter_mut().filter(|p| p.nodes.is_none()) {
        let n = nodes
            .iter()
            .filter(|n| n.node_pool.as_deref() == Some(pool.name.as_str()))
            .count();
        pool.nodes = i64::try_from(n).ok();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::GapReason;

    fn failure(reason: GapReason) -> Failure {
        Failure {
            reason,
            message: "m".into(),
            hint: "h".into(),
        }
    }

    fn named_pod(name: &str) -> Pod {
        let mut p = Pod::default();
        p.metadata.name = Some(name.into());
        p
    }

    #[test]
    fn lists_are_sorted_by_name_and_a_failed_read_is_its_gap() {
        let mut b = SnapshotBuilder::new(Snapshot::new(jiff::Timestamp::UNIX_EPOCH, "game"));
        let pods = [named_pod("b"), named_pod("a"), named_pod("c")];
        b.pods(Ok(pods.iter()));
        b.nodes(Err::<Vec<&Node>, _>(failure(GapReason::Forbidden)));
        let snap = b.finish();
        let names: Vec<&str> = snap
            .pods
            .as_deref()
            .unwrap()
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert!(snap.nodes.is_none(), "a failed read is never an empty list");
        assert_eq!(snap.gaps.len(), 1);
        assert_eq!(snap.gaps[0].source, "nodes");
        assert_eq!(snap.gaps[0].reason, GapReason::Forbidden);
    }

    #[test]
    fn a_lookup_that_found_nothing_is_missing_not_a_gap() {
        let mut b = SnapshotBuilder::new(Snapshot::new(jiff::Timestamp::UNIX_EPOCH, "game"));
        b.deployment(Ok(None));
        b.scaled_object(Err(failure(GapReason::Timeout)));
        let snap = b.finish();
        assert!(matches!(snap.deployment, Some(Lookup::Missing)));
        assert!(snap.scaled_object.is_none());
        assert_eq!(snap.gaps[0].source, "scaledobject");
    }

    #[test]
    fn events_are_newest_first_with_karpenter_events_merged_or_their_gap() {
        let event = |reason: &str, secs: i64| Event {
            reason: Some(reason.into()),
            last_timestamp: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                jiff::Timestamp::from_second(secs).unwrap(),
            )),
            ..Default::default()
        };
        let mut b = SnapshotBuilder::new(Snapshot::new(jiff::Timestamp::UNIX_EPOCH, "game"));
        let events = [event("Old", 10), event("New", 20)];
        b.events(Ok(events.iter()), Some(Err(failure(GapReason::Forbidden))));
        let snap = b.finish();
        let reasons: Vec<&str> = snap
            .events
            .as_deref()
            .unwrap()
            .iter()
            .map(|e| e.reason.as_str())
            .collect();
        assert_eq!(reasons, ["New", "Old"]);
        assert_eq!(snap.gaps[0].source, "karpenter-events");
    }

    #[test]
    fn pools_without_a_node_count_count_their_labelled_nodes() {
        use crate::checks::testkit::node;
        let nodes = vec![
            node("a", Some("default")),
            node("b", Some("default")),
            node("c", None),
        ];
        let pool = |nodes| NodePoolInfo {
            name: "default".into(),
            consolidation_policy: None,
            consolidate_after: None,
            nodes,
            conditions: vec![],
            budgets: vec![],
            limits: Default::default(),
            resources: Default::default(),
        };
        let mut pools = vec![pool(None)];
        count_pool_nodes(&mut pools, Some(&nodes));
        assert_eq!(pools[0].nodes, Some(2));
        // A count the NodePool reports itself is kept.
        let mut pools = vec![pool(Some(5))];
        count_pool_nodes(&mut pools, Some(&nodes));
        assert_eq!(pools[0].nodes, Some(5));
    }
}
