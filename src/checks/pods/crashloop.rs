//! `pods.crashloop`: No crash-looping pods. The check's docs, its evaluation and its
//! unit tests.

use super::*;
use crate::checks::shell_arg;

pub static CHECK: Check = Check {
    id: CheckId::PodsCrashloop,
    title: "No crash-looping pods",
    runbook: "Quick Validation Checklist: No CrashLoopBackOff or Pending pods",
    needs: &[],
    reads: "pods (containers: waitingReason, restarts, message)",
    docs: Docs {
        what: "Looks for game pod containers waiting in CrashLoopBackOff, and for containers \
               that restarted.",
        why: "A crash-looping game container serves no session, and a crash-looping alloy \
              sidecar sends no heartbeats; both make pods and sessions disagree. Restarts \
              without a crash loop (OOMKilled, failed liveness probes) drop sessions too.",
        fix: "Read the previous container's logs (kubectl logs POD -c CONTAINER --previous) \
              and `kubectl describe pod` (Last State: reason, exit code). OOMKilled: raise \
              the memory limit. Config errors: fix the Deployment's pod template.",
    },
    source: file!(),
    eval: crashloop,
};

pub(super) fn crashloop(ctx: &Ctx) -> Verdict {
    let pods = match game_pods(ctx) {
        Ok(p) => p,
        Err(v) => return v,
    };
    let live: Vec<&PodInfo> = pods.iter().filter(|p| p.deleting.is_none()).collect();
    let mut looping = Vec::new();
    let mut restarted = Vec::new();
    for p in &live {
        for c in &p.containers {
            if c.waiting_reason.as_deref() == Some("CrashLoopBackOff") {
                looping.push((*p, c));
            } else if c.restarts > 0 {
                restarted.push((*p, c));
            }
        }
    }
    let line = |p: &PodInfo, c: &crate::domain::snapshot::ContainerInfo| {
        let mut s = format!(
            "{} container {}: {}, {}",
            p.name,
            c.name,
            c.waiting_reason
                .as_deref()
                .or(c.terminated_reason.as_deref())
                .unwrap_or(c.state.as_str()),
            plural(c.restarts.max(0) as usize, "restart", "restarts")
        );
        if let Some(m) = c.message.as_deref().filter(|m| !m.is_empty()) {
            s.push_str(&format!(": {}", shorten(m, 200)));
        }
        s
    };
    let logs = |p: &PodInfo, c: &str| {
        format!(
            "kubectl logs {} -c {} -n {} --previous",
            shell_arg(&p.name),
            shell_arg(c),
            ctx.ns()
        )
    };
    if let Some((p0, c0)) = looping.first() {
        let pods_hit: std::collections::BTreeSet<&str> =
            looping.iter().map(|(p, _)| p.name.as_str()).collect();
        let names: Vec<String> = looping
            .iter()
            .take(3)
            .map(|(p, c)| format!("{}/{} ({} restarts)", p.name, c.name, c.restarts))
            .collect();
        let more = if looping.len() > 3 { ", …" } else { "" };
        return with_evidence(
            Verdict::fail(format!(
                "{} of {} in CrashLoopBackOff: {}{more}",
                pods_hit.len(),
                plural(live.len(), "pod", "pods"),
                names.join(", ")
            )),
            capped(looping.iter().map(|(p, c)| line(p, c)).collect(), 10),
        )
        .fix(
            "The previous container's logs say why it exits; `kubectl describe pod` shows Last \
             State (OOMKilled: raise the memory limit; exit code 1: config or startup error). \
             Fix the Deployment's pod template.",
        )
        .command(logs(p0, &c0.name));
    }
    if !restarted.is_empty() {
        restarted.sort_by_key(|(_, c)| std::cmp::Reverse(c.restarts));
        let total: i32 = restarted.iter().map(|(_, c)| c.restarts).sum();
        let pods_hit: std::collections::BTreeSet<&str> =
            restarted.iter().map(|(p, _)| p.name.as_str()).collect();
        let (p0, c0) = restarted[0];
        return with_evidence(
            Verdict::warn(format!(
                "{} restarted ({} in total), none crash-looping now",
                plural(pods_hit.len(), "pod", "pods"),
                plural(total as usize, "restart", "restarts")
            )),
            capped(restarted.iter().map(|(p, c)| line(p, c)).collect(), 10),
        )
        .fix(
            "Each restart drops the sessions on that pod. The previous container's logs and \
             `kubectl describe pod` (Last State) say why: OOMKilled → raise the memory limit; \
             liveness probe failures → relax the probe.",
        )
        .command(logs(p0, &c0.name));
    }
    if live.is_empty() {
        return Verdict::pass("no pods: nothing crash-looping");
    }
    Verdict::pass(format!(
        "{}, no restarts",
        plural(live.len(), "pod", "pods")
    ))
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;

    use crate::checks::Outcome;
    use crate::checks::testkit::{eval, expect, healthy};

    #[test]
    fn crashloop_fails_with_logs_command() {
        let mut s = healthy();
        let c = &mut pods(&mut s)[1].containers[0];
        c.state = "waiting".into();
        c.ready = false;
        c.waiting_reason = Some("CrashLoopBackOff".into());
        c.restarts = 7;
        c.message = Some("back-off 5m0s restarting failed container".into());
        let v = eval(crashloop, &s);
        expect(
            &v,
            Outcome::Fail,
            "1 of 3 pods in CrashLoopBackOff: spice-runner-7d9c8b5f4-bbbbb/spice-runner (7 restarts)",
        );
        assert_eq!(
            v.command.as_deref(),
            Some("kubectl logs spice-runner-7d9c8b5f4-bbbbb -c spice-runner -n default --previous")
        );
        assert!(v.evidence[0].contains("back-off 5m0s"), "{v:#?}");
    }

    #[test]
    fn restarts_without_crashloop_warn() {
        let mut s = healthy();
        pods(&mut s)[2].containers[1].restarts = 2;
        pods(&mut s)[2].containers[1].terminated_reason = None;
        let v = eval(crashloop, &s);
        expect(&v, Outcome::Warn, "1 pod restarted (2 restarts in total)");
        assert!(v.command.unwrap().contains("-c alloy"));
    }

    #[test]
    fn crashloop_with_no_pods_passes() {
        let mut s = healthy();
        s.pods = Some(vec![]);
        expect(&eval(crashloop, &s), Outcome::Pass, "no pods");
    }
}
