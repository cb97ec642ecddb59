//! `pods.sidecar`: Heartbeat sidecar running. The check's docs, its evaluation and its
//! unit tests.

use super::*;
use crate::checks::shell_arg;

pub static CHECK: Check = Check {
    id: CheckId::PodsSidecar,
    title: "Heartbeat sidecar running",
    runbook: "Troubleshooting Queries: No Pods Scaling Up, Check 1",
    needs: &[],
    reads: "pods (containers: name, sidecar, state, ready, restarts)",
    docs: Docs {
        what: "Checks that every game pod has the telemetry sidecar (sidecarContainer, \
               default alloy; a regular container or a native sidecar init container) and \
               that it runs and is Ready in Running pods.",
        why: "The sidecar forwards the game's Faro heartbeat events to Loki. Without it the \
              Loki checks see no sessions, and zombie-session detection is blind.",
        fix: "Missing: add the sidecar to the Deployment's pod template, or set \
              sidecarContainer to the name it has. Not ready or crashing: read its logs \
              (config error, port in use, Loki unreachable).",
    },
    source: file!(),
    eval: sidecar,
};

pub(super) fn sidecar(ctx: &Ctx) -> Verdict {
    let pods = match game_pods(ctx) {
        Ok(p) => p,
        Err(v) => return v,
    };
    let name = &ctx.settings.sidecar_container;
    let live: Vec<&PodInfo> = pods
        .iter()
        .filter(|p| p.deleting.is_none() && p.phase != "Succeeded" && p.phase != "Failed")
        .collect();
    if live.is_empty() {
        return Verdict::pass("no pods: nothing to check");
    }
    let mut missing = Vec::new();
    let mut unhealthy = Vec::new();
    let mut running = 0;
    for p in &live {
        match p.containers.iter().find(|c| &c.name == name) {
            None => missing.push(*p),
            Some(c) if p.phase == "Running" => {
                running += 1;
                if !(c.ready && c.state == "running") {
                    unhealthy.push((*p, c));
                }
            }
            Some(_) => {}
        }
    }
    if let Some(p0) = missing.first() {
        let names: Vec<&str> = missing.iter().map(|p| p.name.as_str()).collect();
        let evidence = capped(
            missing
                .iter()
                .map(|p| {
                    let cs: Vec<&str> = p.containers.iter().map(|c| c.name.as_str()).collect();
                    format!("{} has containers: {}", p.name, cs.join(", "))
                })
                .collect(),
            10,
        );
        return with_evidence(
            Verdict::fail(format!(
                "{name} missing in {} of {}: {} (heartbeats not sent: Loki checks will be empty)",
                missing.len(),
                plural(live.len(), "pod", "pods"),
                shorten(&names.join(", "), 200)
            )),
            evidence,
        )
        .fix(format!(
            "Add the {name} sidecar to {}'s pod template (a container, or an init \
             container with restartPolicy: Always), or set sidecarContainer to the name it has.",
            ctx.settings.workload()
        ))
        .command(format!(
            "kubectl get pod {} -n {} -o jsonpath='{{.spec.containers[*].name}} {{.spec.initContainers[*].name}}'",
            shell_arg(&p0.name),
            ctx.ns()
        ));
    }
    if let Some((p0, c0)) = unhealthy.first() {
        let evidence = capped(
            unhealthy
                .iter()
                .map(|(p, c)| {
                    let mut s = format!(
                        "{} container {}: {}{}, ready={}, {}",
                        p.name,
                        c.name,
                        c.state,
                        c.waiting_reason
                            .as_deref()
                            .or(c.terminated_reason.as_deref())
                            .map(|r| format!(" {r}"))
                            .unwrap_or_default(),
                        c.ready,
                        plural(c.restarts.max(0) as usize, "restart", "restarts")
                    );
                    if let Some(m) = c.message.as_deref().filter(|m| !m.is_empty()) {
                        s.push_str(&format!(": {}", shorten(m, 200)));
                    }
                    s
                })
                .collect(),
            10,
        );
        let state = c0
            .waiting_reason
            .as_deref()
            .or(c0.terminated_reason.as_deref())
            .unwrap_or(if c0.ready {
                c0.state.as_str()
            } else {
                "not ready"
            });
        let previous = if c0.restarts > 0 { " --previous" } else { "" };
        return with_evidence(
            Verdict::fail(format!(
                "{name} not running or not ready in {} of {running} Running pods (first: {}, {state}, {} restarts)",
                unhealthy.len(),
                p0.name,
                c0.restarts
            )),
            evidence,
        )
        .fix(format!(
            "The {name} sidecar forwards heartbeats to Loki; while it is down those sessions are \
             invisible. Its logs say why (config error, port in use, Loki unreachable)."
        ))
        .command(format!(
            "kubectl logs {} -c {} -n {}{previous}",
            shell_arg(&p0.name),
            shell_arg(name),
            ctx.ns()
        ));
    }
    if running == 0 {
        return Verdict::pass(format!(
            "{name} declared in all {} (none Running yet)",
            plural(live.len(), "pod", "pods")
        ));
    }
    Verdict::pass(format!(
        "{name} running and ready in {running}/{running} Running pods"
    ))
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;

    use crate::checks::Outcome;
    use crate::checks::testkit::{container, eval, expect, healthy, pending_pod};

    #[test]
    fn sidecar_missing_fails() {
        let mut s = healthy();
        pods(&mut s)[0].containers.retain(|c| c.name != "alloy");
        let v = eval(sidecar, &s);
        expect(&v, Outcome::Fail, "alloy missing in 1 of 3 pods");
        assert!(v.message.contains("Loki checks will be empty"));
        assert!(v.evidence[0].contains("has containers: spice-runner"));
    }

    #[test]
    fn sidecar_crashing_or_not_ready_fails() {
        let mut s = healthy();
        let c = &mut pods(&mut s)[0].containers[1];
        c.ready = false;
        c.state = "waiting".into();
        c.waiting_reason = Some("CrashLoopBackOff".into());
        c.restarts = 4;
        let v = eval(sidecar, &s);
        expect(&v, Outcome::Fail, "CrashLoopBackOff, 4 restarts");
        assert_eq!(
            v.command.as_deref(),
            Some("kubectl logs spice-runner-7d9c8b5f4-aaaaa -c alloy -n default --previous")
        );

        let mut s = healthy();
        pods(&mut s)[0].containers[1].ready = false;
        expect(&eval(sidecar, &s), Outcome::Fail, "not ready");
    }

    #[test]
    fn sidecar_native_and_pending_and_empty() {
        let mut s = healthy();
        for p in pods(&mut s) {
            p.containers[1].sidecar = true;
        }
        expect(&eval(sidecar, &s), Outcome::Pass, "3/3");

        let mut s = healthy();
        s.pods = Some(vec![pending_pod("spice-runner-7d9c8b5f4-ddddd", 10)]);
        expect(&eval(sidecar, &s), Outcome::Pass, "none Running yet");

        s.pods = Some(vec![]);
        expect(&eval(sidecar, &s), Outcome::Pass, "no pods");

        // Another sidecar name via settings is honoured by name only.
        let mut s = healthy();
        pods(&mut s)[0].containers = vec![container("spice-runner"), container("otel")];
        expect(&eval(sidecar, &s), Outcome::Fail, "alloy missing");
    }
}
