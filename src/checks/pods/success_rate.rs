//! `pods.success-rate`: Pod success rate. The check's docs, its evaluation and its
//! unit tests.

use super::*;
use crate::checks::shell_arg;

pub static CHECK: Check = Check {
    id: CheckId::PodsSuccessRate,
    title: "Pod success rate",
    runbook: "Key Metrics Summary: Pod Success Rate",
    needs: &[],
    reads: "pods (phase, deleting, created), capturedAt",
    docs: Docs {
        what: "Running pods / all game pods (Succeeded and terminating pods excluded), from \
               the API server, against targets.podSuccessRate (0.99). The runbook's \
               `count(kube_pod_status_phase{phase=\"Running\"}) / count(kube_pod_status_phase)` \
               is always 0.2: kube-state-metrics emits a 0/1 series for each of the five \
               phases of every pod, so count() counts pods, not Running ones; the correct \
               PromQL is sum(kube_pod_status_phase{phase=\"Running\"}) / \
               count(kube_pod_status_phase{phase=\"Running\"}).",
        why: "Pods that are not Running hold no session. Right after a scale-up, pods are \
              briefly Pending; that is a warning, not a failure.",
        fix: "See pods.pending and pods.crashloop for why pods are not Running; for Failed \
              pods `kubectl describe pod` shows the reason (Evicted, OOMKilled, node lost). \
              Fix the runbook's PromQL to sum() as above.",
    },
    source: file!(),
    eval: success_rate,
};

fn pods_cmd(ctx: &Ctx) -> String {
    format!(
        "kubectl get pods -l {} -n {}",
        shell_arg(&ctx.settings.selector),
        ctx.ns()
    )
}

fn pct(v: f64) -> String {
    format!("{}%", num(v * 100.0))
}

pub(super) fn success_rate(ctx: &Ctx) -> Verdict {
    let pods = match game_pods(ctx) {
        Ok(p) => p,
        Err(v) => return v,
    };
    let snap = ctx.snap;
    let target = ctx.settings.targets.pod_success_rate;
    let counted: Vec<&PodInfo> = pods
        .iter()
        .filter(|p| p.phase != "Succeeded" && p.deleting.is_none())
        .collect();
    if counted.is_empty() {
        return Verdict::pass("no pods: nothing to measure");
    }
    let total = counted.len();
    let running = counted.iter().filter(|p| p.phase == "Running").count();
    let rate = running as f64 / total as f64;
    let head = format!(
        "{running}/{total} pods Running ({}, target ≥ {})",
        pct(rate),
        pct(target)
    );
    if rate + 1e-9 >= target {
        return Verdict::pass(head);
    }
    let others: Vec<&&PodInfo> = counted.iter().filter(|p| p.phase != "Running").collect();
    let mut by_phase: std::collections::BTreeMap<String, usize> = Default::default();
    for p in &others {
        let phase = p.phase.shown();
        *by_phase.entry(phase.to_string()).or_default() += 1;
    }
    let breakdown: Vec<String> = by_phase.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let evidence = capped(
        others
            .iter()
            .map(|p| {
                format!(
                    "{} {} {} ({})",
                    p.name,
                    p.phase.shown(),
                    human_duration(pod_age(snap, p)),
                    p.display_status()
                )
            })
            .collect(),
        10,
    );
    let scaling_up = others
        .iter()
        .all(|p| is_pending(p) && pod_age(snap, p) as f64 <= ctx.settings.targets.scale_up_seconds);
    // Pods that are only Pending are judged by pods.pending (with the
    // scheduler's reason and whether a node is coming); here they lower the
    // rate but are not a second failure. Failed, Unknown or crash-looping
    // pods are.
    let only_pending = others.iter().all(|p| is_pending(p));
    if only_pending && !scaling_up {
        return with_evidence(
            Verdict::warn(format!("{head}: {} (see pods.pending)", breakdown.join(", "))),
            evidence,
        )
        .fix("Pending pods lower the success rate until they start; pods.pending says why they wait.")
        .command(pods_cmd(ctx));
    }
    if scaling_up {
        return with_evidence(
            Verdict::warn(format!(
                "{head}: {}, younger than the {} scale-up target (scale-up in progress)",
                breakdown.join(", "),
                human_duration(ctx.settings.targets.scale_up_seconds.round() as i64)
            )),
            evidence,
        )
        .fix("New pods are still starting; re-run in a minute. If they stay Pending, see pods.pending.")
        .command(pods_cmd(ctx));
    }
    with_evidence(
        Verdict::fail(format!("{head}: {}", breakdown.join(", "))),
        evidence,
    )
    .fix(
        "See pods.pending and pods.crashloop for why pods are not Running; for Failed pods \
         `kubectl describe pod` shows the reason (Evicted, OOMKilled, node lost).",
    )
    .command(pods_cmd(ctx))
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;

    use crate::checks::Outcome;
    use crate::checks::testkit::{ago, eval, event, expect, healthy, pending_pod, running_pod};

    #[test]
    fn success_rate_outcomes() {
        let mut s = healthy();
        s.pods = Some(vec![]);
        expect(
            &eval(success_rate, &s),
            Outcome::Pass,
            "no pods: nothing to measure",
        );

        let mut s = healthy();
        pods(&mut s).push(pending_pod("spice-runner-7d9c8b5f4-ddddd", 10));
        expect(
            &eval(success_rate, &s),
            Outcome::Warn,
            "scale-up in progress",
        );

        // Pending for longer: still a warning here; pods.pending judges the wait.
        pods(&mut s)[3].created = Some(ago(120));
        let v = eval(success_rate, &s);
        expect(
            &v,
            Outcome::Warn,
            "3/4 pods Running (75%, target ≥ 99%): 1 Pending (see pods.pending)",
        );
        assert_eq!(
            v.command.as_deref(),
            Some("kubectl get pods -l app=spice-runner -n default")
        );

        // Succeeded and terminating pods are not counted.
        let mut s = healthy();
        let mut done = running_pod("spice-runner-7d9c8b5f4-eeeee", 100);
        done.phase = "Succeeded".into();
        let mut going = pending_pod("spice-runner-7d9c8b5f4-fffff", 100);
        going.deleting = Some(ago(5));
        pods(&mut s).extend([done, going]);
        expect(&eval(success_rate, &s), Outcome::Pass, "3/3");

        let mut s = healthy();
        let mut failed = running_pod("spice-runner-7d9c8b5f4-ggggg", 100);
        failed.phase = "Failed".into();
        pods(&mut s).push(failed);
        expect(&eval(success_rate, &s), Outcome::Fail, "1 Failed");
    }

    #[test]
    fn quoting_events() {
        let s = healthy();
        let mut e = event("Pod", "p", "Warning", "FailedScheduling", "0/3 nodes", 40);
        e.count = 3;
        assert_eq!(
            quote_event(&s, &e),
            "Warning FailedScheduling (x3, 40s ago): 0/3 nodes"
        );
        e.count = 1;
        e.source = Some("karpenter".into());
        assert_eq!(
            quote_event(&s, &e),
            "Warning FailedScheduling (40s ago, karpenter): 0/3 nodes"
        );
    }
}
