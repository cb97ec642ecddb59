//! Checks of the pods area: the game pods the selector matches, as the API
//! server lists them (phase, container states, PodScheduled, Ready time).
//! Also the small helpers the hpa and nodes checks share (ages, events).

use super::nodes::node_coming;
use super::{Area, Check, Ctx, Docs, Verdict};
use crate::report::{human_duration, num};
use crate::snapshot::{EventInfo, PodInfo, Snapshot};
use jiff::Timestamp;

pub static CHECKS: &[Check] = &[
    Check {
        id: "pods.crashloop",
        area: Area::Pods,
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
        eval: crashloop,
    },
    Check {
        id: "pods.pending",
        area: Area::Pods,
        title: "No pods stuck Pending",
        runbook: "Quick Validation Checklist: No CrashLoopBackOff or Pending pods",
        needs: &[],
        reads: "pods (phase, created, scheduled), events (Pod Nominated, FailedScheduling), \
                nodeClaims, capturedAt",
        docs: Docs {
            what: "Finds game pods Pending longer than the scale-up target (targets.scaleUp, 30 s) \
                   and quotes why: the PodScheduled condition or the waiting container. A pod \
                   Karpenter nominated for a new node (Nominated event, or an uninitialized \
                   NodeClaim created after the pod) is a warning while it is younger than 5 \
                   minutes.",
            why: "Every Pending pod is a session without a pod. The runbook expects Pending only \
                  briefly (Test 1: Pending at 30 s, Running at 45 s).",
            fix: "Unschedulable with no node coming: see nodes.scale-up (NodePool limits, \
                  requirements, instance types) or the pod's requests, nodeSelector and \
                  tolerations. Scheduled but not starting: the pod's events name the cause \
                  (image pull, volume). A new node per scale-up cannot meet a 30 s target: keep \
                  spare capacity (a low-priority placeholder Deployment).",
        },
        eval: pending,
    },
    Check {
        id: "pods.success-rate",
        area: Area::Pods,
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
        eval: success_rate,
    },
    Check {
        id: "pods.startup",
        area: Area::Pods,
        title: "Pod startup time",
        runbook: "Key Metrics Summary: Scale-up Time",
        needs: &[],
        reads: "pods (created, readySince)",
        docs: Docs {
            what: "Creation → Ready latency of the Ready game pods (their Ready condition's last \
                   transition minus creation): median and worst against targets.scaleUp (30 s).",
            why: "The runbook's scale-up target counts from the session to a usable pod; the pod \
                  part is scheduling + node launch + image pull + container start + readiness \
                  probe. KEDA's detection delay (pollingInterval) comes on top.",
            fix: "Slow scheduling: nodes being added for each scale-up (pods.pending, \
                  nodes.scale-up); keep spare capacity. Slow image pulls: a smaller image or \
                  pre-pulled images. Slow readiness: lower the readiness probe's \
                  initialDelaySeconds and periodSeconds.",
        },
        eval: startup,
    },
    Check {
        id: "pods.sidecar",
        area: Area::Pods,
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
        eval: sidecar,
    },
];

// ---------------------------------------------------------------------------
// Helpers shared with the hpa and nodes checks.

/// Seconds from `t` to the snapshot's capture time.
pub(super) fn age(snap: &Snapshot, t: Timestamp) -> i64 {
    snap.captured_at.as_second() - t.as_second()
}

/// Age of a pod; an unknown creation time counts as brand new.
pub(super) fn pod_age(snap: &Snapshot, p: &PodInfo) -> i64 {
    p.created.map(|t| age(snap, t)).unwrap_or(0)
}

/// The error for a source that was not read: its gap, else a plain error.
pub(super) fn not_read(ctx: &Ctx, source: &str, what: &str) -> Verdict {
    ctx.gap_verdict(source)
        .unwrap_or_else(|| Verdict::error(format!("{what} were not read (no reason recorded)")))
}

pub(super) fn with_evidence(v: Verdict, lines: impl IntoIterator<Item = String>) -> Verdict {
    lines.into_iter().fold(v, Verdict::evidence)
}

/// Events about one object, newest first; empty when events were not read.
pub(super) fn events_for<'a>(snap: &'a Snapshot, kind: &str, name: &str) -> Vec<&'a EventInfo> {
    let mut v: Vec<&EventInfo> = snap
        .events
        .iter()
        .flatten()
        .filter(|e| e.object_kind == kind && e.object_name == name)
        .collect();
    v.sort_by_key(|e| std::cmp::Reverse(e.last_seen));
    v
}

/// `Warning FailedScheduling (x3, 40s ago): 0/3 nodes are available: ...`
pub(super) fn quote_event(snap: &Snapshot, e: &EventInfo) -> String {
    let mut meta = Vec::new();
    if e.count > 1 {
        meta.push(format!("x{}", e.count));
    }
    if let Some(t) = e.last_seen {
        meta.push(format!("{} ago", human_duration(age(snap, t))));
    }
    if let Some(src) = &e.source {
        meta.push(src.clone());
    }
    let meta = if meta.is_empty() {
        String::new()
    } else {
        format!(" ({})", meta.join(", "))
    };
    format!(
        "{} {}{meta}: {}",
        e.type_,
        e.reason,
        shorten(&e.message, 300)
    )
}

pub(super) fn shorten(s: &str, max: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let cut: String = s.chars().take(max).collect();
        format!("{cut}…")
    }
}

/// A label selector as a shell word.
pub(super) fn shell_word(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "=,._/-".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Pending and not being deleted.
pub(super) fn is_pending(p: &PodInfo) -> bool {
    p.phase == "Pending" && p.deleting.is_none()
}

/// Why a Pending pod waits: the scheduler's verdict, else its first waiting
/// container.
pub(super) fn why_pending(p: &PodInfo) -> String {
    if let Some(c) = p.scheduled.as_ref().filter(|c| c.status != "True") {
        let reason = c.reason.as_deref().unwrap_or("not scheduled");
        return match c.message.as_deref().filter(|m| !m.is_empty()) {
            Some(m) => format!("{reason}: {m}"),
            None => reason.to_string(),
        };
    }
    if p.scheduled.is_none() {
        return "not scheduled yet (no PodScheduled condition)".into();
    }
    for c in &p.containers {
        if let Some(r) = &c.waiting_reason {
            return match c.message.as_deref().filter(|m| !m.is_empty()) {
                Some(m) => format!("scheduled, container {} {r}: {m}", c.name),
                None => format!("scheduled, container {} {r}", c.name),
            };
        }
    }
    "scheduled, containers starting".into()
}

fn game_pods<'a>(ctx: &Ctx<'a>) -> Result<&'a [PodInfo], Verdict> {
    ctx.snap
        .pods
        .as_deref()
        .ok_or_else(|| not_read(ctx, "pods", "game pods"))
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn pods_cmd(ctx: &Ctx) -> String {
    format!(
        "kubectl get pods -l {} -n {}",
        shell_word(&ctx.settings.selector),
        ctx.ns()
    )
}

/// At most `max` lines, then one saying how many were left out.
fn capped(lines: Vec<String>, max: usize) -> Vec<String> {
    let n = lines.len();
    let mut out: Vec<String> = lines.into_iter().take(max).collect();
    if n > max {
        out.push(format!("… and {} more", n - max));
    }
    out
}

// ---------------------------------------------------------------------------

fn crashloop(ctx: &Ctx) -> Verdict {
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
    let line = |p: &PodInfo, c: &crate::snapshot::ContainerInfo| {
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
    let logs =
        |p: &PodInfo, c: &str| format!("kubectl logs {} -c {c} -n {} --previous", p.name, ctx.ns());
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

/// A Pending pod with a node on the way stays a warning this long.
const NODE_COMING_GRACE_SECS: i64 = 300;

fn pending(ctx: &Ctx) -> Verdict {
    let pods = match game_pods(ctx) {
        Ok(p) => p,
        Err(v) => return v,
    };
    let snap = ctx.snap;
    let target = ctx.settings.targets.scale_up_seconds;
    let target_s = human_duration(target.round() as i64);
    let mut waiting: Vec<(&PodInfo, i64)> = pods
        .iter()
        .filter(|p| is_pending(p))
        .map(|p| (p, pod_age(snap, p)))
        .collect();
    if waiting.is_empty() {
        return Verdict::pass("no Pending pods");
    }
    waiting.sort_by_key(|(p, a)| (std::cmp::Reverse(*a), p.name.clone()));
    let (late, young): (Vec<_>, Vec<_>) = waiting.iter().partition(|(_, a)| *a as f64 > target);
    if late.is_empty() {
        return with_evidence(
            Verdict::pass(format!(
                "{} Pending for less than the {target_s} target: scale-up in progress",
                plural(young.len(), "pod", "pods")
            )),
            young.iter().map(|(p, a)| {
                format!(
                    "{} Pending {}: {}",
                    p.name,
                    human_duration(*a),
                    why_pending(p)
                )
            }),
        );
    }

    let mut evidence = Vec::new();
    let mut stuck: Vec<(&PodInfo, i64)> = Vec::new();
    let mut coming_first: Option<String> = None;
    for (p, a) in &late {
        let coming = node_coming(snap, p);
        let why = why_pending(p);
        let line = match &coming {
            Some(c) => format!(
                "{} Pending {}: {}; node coming: {} ({})",
                p.name,
                human_duration(*a),
                why.trim_end_matches('.'),
                c.target,
                c.via
            ),
            None => format!("{} Pending {}: {why}", p.name, human_duration(*a)),
        };
        evidence.push(line);
        match coming {
            Some(c) if *a < NODE_COMING_GRACE_SECS => {
                coming_first.get_or_insert(c.target);
            }
            _ => stuck.push((p, *a)),
        }
    }
    let mut evidence = capped(evidence, 10);
    let event_lines: Vec<String> = late
        .iter()
        .flat_map(|(p, _)| events_for(snap, "Pod", &p.name))
        .filter(|e| e.type_ == "Warning")
        .map(|e| format!("{}: {}", e.object_name, quote_event(snap, e)))
        .take(5)
        .collect();
    evidence.extend(event_lines);
    if !young.is_empty() {
        evidence.push(format!(
            "{} Pending for less than {target_s} (not counted)",
            plural(young.len(), "more pod", "more pods")
        ));
    }

    if let Some((p, a)) = stuck.first() {
        let unschedulable = p.scheduled.as_ref().is_some_and(|c| c.status != "True");
        let fix = if unschedulable {
            "No node fits the pod and none is on the way: see nodes.scale-up (Karpenter NodePool \
             limits and requirements, NoCompatibleInstanceTypes events), or lower the pod's \
             requests and check its nodeSelector, affinity and tolerations."
        } else {
            "The pod is bound to a node but does not start: the Events in `kubectl describe pod` \
             name the cause (image pull, volume mount, missing ConfigMap or Secret)."
        };
        return with_evidence(
            Verdict::fail(format!(
                "{} Pending longer than {target_s} (oldest {}, {}): {}",
                plural(late.len(), "pod", "pods"),
                p.name,
                human_duration(*a),
                shorten(&why_pending(p), 200)
            )),
            evidence,
        )
        .fix(fix)
        .command(format!("kubectl describe pod {} -n {}", p.name, ctx.ns()));
    }
    let (p, a) = (late[0].0, late[0].1);
    with_evidence(
        Verdict::warn(format!(
            "{} Pending longer than {target_s} (oldest {}, {}): node coming: {}",
            plural(late.len(), "pod", "pods"),
            p.name,
            human_duration(a),
            coming_first.unwrap_or_default()
        )),
        evidence,
    )
    .fix(format!(
        "Karpenter is bringing up a node (usually 1–2 minutes), so this scale-up misses the \
         {target_s} target. To meet it, keep spare capacity (a low-priority placeholder \
         Deployment that game pods preempt). If the node does not come, see nodes.scale-up."
    ))
    .command(format!("kubectl describe pod {} -n {}", p.name, ctx.ns()))
}

fn pct(v: f64) -> String {
    format!("{}%", num(v * 100.0))
}

fn success_rate(ctx: &Ctx) -> Verdict {
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

fn startup(ctx: &Ctx) -> Verdict {
    let pods = match game_pods(ctx) {
        Ok(p) => p,
        Err(v) => return v,
    };
    let mut lat: Vec<(i64, &PodInfo)> = pods
        .iter()
        .filter(|p| p.ready)
        .filter_map(|p| {
            let (c, r) = (p.created?, p.ready_since?);
            Some(((r.as_second() - c.as_second()).max(0), p))
        })
        .collect();
    if lat.is_empty() {
        return Verdict::skip("no Ready pods to measure");
    }
    lat.sort_by_key(|(s, p)| (*s, p.name.clone()));
    let n = lat.len();
    let median = if n % 2 == 1 {
        lat[n / 2].0
    } else {
        (lat[n / 2 - 1].0 + lat[n / 2].0 + 1) / 2
    };
    let (worst, slowest) = lat[n - 1];
    let target = ctx.settings.targets.scale_up_seconds;
    let t = human_duration(target.round() as i64);
    let stats = format!(
        "median {}, worst {} (n={n})",
        human_duration(median),
        human_duration(worst)
    );
    let evidence: Vec<String> = lat
        .iter()
        .rev()
        .take(3)
        .map(|(s, p)| format!("{}: created → Ready in {}", p.name, human_duration(*s)))
        .collect();
    let fix = "Slow scheduling: a node is added for each scale-up (see pods.pending, \
               nodes.scale-up); keep spare capacity. Slow image pulls: a smaller or pre-pulled \
               image. Slow readiness: lower the readiness probe's initialDelaySeconds and \
               periodSeconds.";
    let cmd = format!("kubectl describe pod {} -n {}", slowest.name, ctx.ns());
    if median as f64 > target {
        return with_evidence(
            Verdict::warn(format!("pod startup {stats}: median over the {t} target")),
            evidence,
        )
        .fix(fix)
        .command(cmd);
    }
    if worst as f64 > 2.0 * target {
        return with_evidence(
            Verdict::warn(format!(
                "pod startup {stats}: worst over twice the {t} target"
            )),
            evidence,
        )
        .fix(fix)
        .command(cmd);
    }
    with_evidence(Verdict::pass(stats), evidence)
}

fn sidecar(ctx: &Ctx) -> Verdict {
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
            "Add the {name} sidecar to Deployment {}'s pod template (a container, or an init \
             container with restartPolicy: Always), or set sidecarContainer to the name it has.",
            ctx.settings.deployment
        ))
        .command(format!(
            "kubectl get pod {} -n {} -o jsonpath='{{.spec.containers[*].name}} {{.spec.initContainers[*].name}}'",
            p0.name,
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
            "kubectl logs {} -c {name} -n {}{previous}",
            p0.name,
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
    use super::*;
    use crate::checks::Outcome;
    use crate::checks::testkit::{
        ago, cond, container, eval, event, expect, gap, healthy, node_claim as claim, nominated,
        pending_pod, running_pod,
    };
    use crate::snapshot::GapReason;

    fn pods(s: &mut Snapshot) -> &mut Vec<PodInfo> {
        s.pods.as_mut().unwrap()
    }

    #[test]
    fn healthy_passes_everywhere() {
        let s = healthy();
        expect(&eval(crashloop, &s), Outcome::Pass, "3 pods, no restarts");
        expect(&eval(pending, &s), Outcome::Pass, "no Pending pods");
        expect(
            &eval(success_rate, &s),
            Outcome::Pass,
            "3/3 pods Running (100%",
        );
        expect(
            &eval(startup, &s),
            Outcome::Pass,
            "median 20s, worst 20s (n=3)",
        );
        expect(
            &eval(sidecar, &s),
            Outcome::Pass,
            "alloy running and ready in 3/3",
        );
    }

    #[test]
    fn unread_pods_are_an_error_for_every_check() {
        let mut s = healthy();
        s.pods = None;
        gap(&mut s, "pods", GapReason::Forbidden, "cannot list pods");
        for f in [crashloop, pending, success_rate, startup, sidecar] {
            let v = eval(f, &s);
            expect(&v, Outcome::Error, "cannot list pods");
            assert_eq!(v.fix.as_deref(), Some("the hint"));
        }
    }

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

    #[test]
    fn young_pending_pods_pass_with_a_note() {
        let mut s = healthy();
        pods(&mut s).push(pending_pod("spice-runner-7d9c8b5f4-ddddd", 10));
        let v = eval(pending, &s);
        expect(
            &v,
            Outcome::Pass,
            "1 pod Pending for less than the 30s target",
        );
        assert!(v.evidence[0].contains("Insufficient cpu"));
    }

    #[test]
    fn old_pending_pod_with_no_node_coming_fails_with_scheduler_reason() {
        let mut s = healthy();
        pods(&mut s).push(pending_pod("spice-runner-7d9c8b5f4-ddddd", 90));
        let mut e = event(
            "Pod",
            "spice-runner-7d9c8b5f4-ddddd",
            "Warning",
            "FailedScheduling",
            "0/3 nodes are available: 3 Insufficient cpu.",
            40,
        );
        e.count = 3;
        s.events = Some(vec![e]);
        let v = eval(pending, &s);
        expect(
            &v,
            Outcome::Fail,
            "1 pod Pending longer than 30s (oldest spice-runner-7d9c8b5f4-ddddd, 1m30s): Unschedulable: 0/3 nodes",
        );
        assert_eq!(
            v.command.as_deref(),
            Some("kubectl describe pod spice-runner-7d9c8b5f4-ddddd -n default")
        );
        assert!(
            v.evidence
                .iter()
                .any(|e| e
                    .contains("Warning FailedScheduling (x3, 40s ago): 0/3 nodes are available")),
            "{v:#?}"
        );
    }

    #[test]
    fn pending_with_nominated_node_warns_then_fails_after_five_minutes() {
        let mut s = healthy();
        pods(&mut s).push(pending_pod("spice-runner-7d9c8b5f4-ddddd", 90));
        s.events = Some(vec![nominated(
            "spice-runner-7d9c8b5f4-ddddd",
            "default-x7k2p",
            60,
        )]);
        s.node_claims = Some(vec![claim("default-x7k2p", 60, false)]);
        let v = eval(pending, &s);
        expect(&v, Outcome::Warn, "node coming: nodeclaim/default-x7k2p");

        pods(&mut s)[3].created = Some(ago(400));
        expect(&eval(pending, &s), Outcome::Fail, "Pending longer than 30s");
    }

    #[test]
    fn pending_with_launching_nodeclaim_warns() {
        let mut s = healthy();
        pods(&mut s).push(pending_pod("spice-runner-7d9c8b5f4-ddddd", 90));
        s.node_claims = Some(vec![
            claim("default-old", 3600, true),
            claim("default-new", 80, false),
        ]);
        expect(
            &eval(pending, &s),
            Outcome::Warn,
            "node coming: nodeclaim/default-new",
        );
        // A claim created before the pod is someone else's.
        s.node_claims = Some(vec![claim("default-new", 120, false)]);
        expect(&eval(pending, &s), Outcome::Fail, "Unschedulable");
    }

    #[test]
    fn scheduled_pending_pod_quotes_the_waiting_container() {
        let mut s = healthy();
        let mut p = pending_pod("spice-runner-7d9c8b5f4-ddddd", 120);
        p.scheduled = Some(cond("PodScheduled", "True", "Scheduled", ""));
        p.containers[0].waiting_reason = Some("ImagePullBackOff".into());
        p.containers[0].message = Some("Back-off pulling image \"spice:bad\"".into());
        pods(&mut s).push(p);
        let v = eval(pending, &s);
        expect(&v, Outcome::Fail, "container spice-runner ImagePullBackOff");
        assert!(v.fix.unwrap().contains("image pull"));
    }

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
    fn startup_outcomes() {
        let mut s = healthy();
        s.pods = Some(vec![pending_pod("spice-runner-7d9c8b5f4-ddddd", 10)]);
        expect(&eval(startup, &s), Outcome::Skip, "no Ready pods");

        let mut s = healthy();
        for (p, secs) in pods(&mut s).iter_mut().zip([40, 45, 50]) {
            p.ready_since = Some(p.created.unwrap() + jiff::SignedDuration::from_secs(secs));
        }
        let v = eval(startup, &s);
        expect(
            &v,
            Outcome::Warn,
            "median 45s, worst 50s (n=3): median over the 30s target",
        );
        assert_eq!(
            v.command.as_deref(),
            Some("kubectl describe pod spice-runner-7d9c8b5f4-ccccc -n default")
        );

        for (p, secs) in pods(&mut s).iter_mut().zip([18, 25, 75]) {
            p.ready_since = Some(p.created.unwrap() + jiff::SignedDuration::from_secs(secs));
        }
        expect(
            &eval(startup, &s),
            Outcome::Warn,
            "worst over twice the 30s target",
        );

        for (p, secs) in pods(&mut s).iter_mut().zip([18, 25, 12]) {
            p.ready_since = Some(p.created.unwrap() + jiff::SignedDuration::from_secs(secs));
        }
        expect(
            &eval(startup, &s),
            Outcome::Pass,
            "median 18s, worst 25s (n=3)",
        );
    }

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
        assert_eq!(shell_word("app=spice-runner"), "app=spice-runner");
        assert_eq!(shell_word("app in (a,b)"), "'app in (a,b)'");
    }
}
