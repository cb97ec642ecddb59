//! `nodes.ready`: Nodes Ready. The check's docs, its evaluation and its
//! unit tests.

use super::*;

pub static CHECK: Check = Check {
    id: CheckId::NodesReady,
    title: "Nodes Ready",
    runbook: "Kubectl Monitoring Commands: Watch Pods and Nodes Together",
    needs: &[],
    reads: "nodes (ready, unschedulable, created, nodePool), capturedAt",
    docs: Docs {
        what: "Checks that every node is Ready and schedulable. Karpenter nodes younger than \
               2 minutes that are not Ready yet are reported as still registering.",
        why: "Pods on a NotReady node serve no sessions and new pods cannot land there; a \
              cordoned node takes no new pods, so scale-ups need other capacity.",
        fix: "`kubectl describe node` shows the failing condition (kubelet not posting \
              status, network plugin, pressure). Fix the node, or cordon, drain and delete \
              it. Uncordon nodes whose maintenance is over.",
    },
    source: file!(),
    eval: ready,
};

/// Karpenter nodes that are not Ready this young are still registering.
const REGISTERING_SECS: i64 = 120;

pub(super) fn ready(ctx: &Ctx) -> Verdict {
    let snap = ctx.snap;
    let Some(nodes) = &snap.nodes else {
        return ctx.not_read("nodes", "nodes");
    };
    if nodes.is_empty() {
        return Verdict::warn("no nodes in the cluster: nothing can run")
            .fix("Check the cluster's node groups and Karpenter's NodePools; the API server lists no Node.")
            .command("kubectl get nodes");
    }
    let total = nodes.len();
    let mut broken = Vec::new();
    let mut registering = Vec::new();
    let mut cordoned = Vec::new();
    for n in nodes {
        let young = n.created.is_some_and(|t| age(snap, t) < REGISTERING_SECS);
        if !n.ready && n.node_pool.is_some() && young {
            registering.push(n);
        } else if !n.ready {
            broken.push(n);
        } else if n.unschedulable {
            cordoned.push(n);
        }
    }
    let names = |v: &[&NodeInfo]| {
        shorten(
            &v.iter()
                .map(|n| n.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            200,
        )
    };
    let lines = |v: &[&NodeInfo]| v.iter().map(|n| node_line(snap, n)).collect::<Vec<_>>();
    if !broken.is_empty() {
        return with_evidence(
            Verdict::fail(format!(
                "{} of {total} nodes NotReady: {}",
                broken.len(),
                names(&broken)
            )),
            lines(&broken)
                .into_iter()
                .chain(lines(&registering))
                .chain(lines(&cordoned)),
        )
        .fix(
            "Pods there serve no sessions. `kubectl describe node NAME` shows the failing \
             condition (kubelet not posting status, network plugin, pressure): fix the node, or \
             cordon, drain and delete it so its pods and capacity move elsewhere.",
        )
        .command("kubectl get nodes");
    }
    if !registering.is_empty() || !cordoned.is_empty() {
        let mut parts = Vec::new();
        if !registering.is_empty() {
            parts.push(format!(
                "{} Karpenter node(s) still registering: {}",
                registering.len(),
                names(&registering)
            ));
        }
        if !cordoned.is_empty() {
            parts.push(format!(
                "{} of {total} nodes cordoned: {}",
                cordoned.len(),
                names(&cordoned)
            ));
        }
        let fix = if cordoned.is_empty() {
            "New Karpenter nodes turn Ready within a minute or two; re-run. If they stay \
             NotReady, see the NodeClaim (`kubectl get nodeclaims`)."
        } else {
            "Cordoned nodes take no new pods: uncordon them when their maintenance is over \
             (Karpenter's own disruption uses the karpenter.sh/disrupted taint, not cordon)."
        };
        return with_evidence(
            Verdict::warn(parts.join("; ")),
            lines(&registering).into_iter().chain(lines(&cordoned)),
        )
        .fix(fix)
        .command("kubectl get nodes");
    }
    let karpenter_nodes = nodes.iter().filter(|n| n.node_pool.is_some()).count();
    let origin = match karpenter(snap) {
        Some(false) if ca_seen(snap) => format!(" ({})", ca::ready_note(snap)),
        Some(false) => " (no Karpenter)".to_string(),
        _ => format!(" ({karpenter_nodes} from Karpenter)"),
    };
    Verdict::pass(format!(
        "{total}/{total} nodes Ready and schedulable{origin}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::checks::Outcome;
    use crate::checks::testkit::{ago, eval, expect, gap, healthy};

    #[test]
    fn ready_outcomes() {
        let mut s = healthy();
        s.nodes.as_mut().unwrap()[1].ready = false;
        let v = eval(ready, &s);
        expect(&v, Outcome::Fail, "1 of 3 nodes NotReady: node-b");
        assert_eq!(v.command.as_deref(), Some("kubectl get nodes"));

        // A young Karpenter node is registering, a young unmanaged one is broken.
        s.nodes.as_mut().unwrap()[1].created = Some(ago(60));
        expect(&eval(ready, &s), Outcome::Warn, "still registering: node-b");
        s.nodes.as_mut().unwrap()[1].node_pool = None;
        expect(&eval(ready, &s), Outcome::Fail, "NotReady");

        let mut s = healthy();
        s.nodes.as_mut().unwrap()[2].unschedulable = true;
        expect(
            &eval(ready, &s),
            Outcome::Warn,
            "1 of 3 nodes cordoned: node-sys",
        );

        s.nodes = Some(vec![]);
        expect(&eval(ready, &s), Outcome::Warn, "no nodes");

        s.nodes = None;
        gap(&mut s, "nodes", GapReason::Forbidden, "cannot list nodes");
        expect(&eval(ready, &s), Outcome::Error, "cannot list nodes");
    }
}
