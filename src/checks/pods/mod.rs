//! Checks of the pods area: the game pods the selector matches, as the API
//! server lists them (phase, container states, PodScheduled, Ready time).
//! Also the small helpers the hpa and nodes checks share (ages, events).

use super::nodes::node_coming;
use super::{Check, CheckId, Ctx, Docs, Verdict};
use crate::domain::quantity::{human_duration, num};
use crate::domain::snapshot::{EventInfo, PodInfo, Snapshot};
use jiff::Timestamp;

pub(super) mod crashloop;
pub(super) mod pending;
pub(super) mod sidecar;
pub(super) mod startup;
pub(super) mod success_rate;

// ---------------------------------------------------------------------------
// Helpers shared with the hpa and nodes checks.

/// The command that shows a pod's conditions and events, its name quoted.
pub(super) fn describe_pod(ctx: &Ctx, pod: &str) -> String {
    format!(
        "kubectl describe pod {} -n {}",
        super::shell_arg(pod),
        ctx.ns()
    )
}

/// Seconds from `t` to the snapshot's capture time.
pub(super) fn age(snap: &Snapshot, t: Timestamp) -> i64 {
    snap.captured_at.as_second() - t.as_second()
}

/// Age of a pod; an unknown creation time counts as brand new.
pub(super) fn pod_age(snap: &Snapshot, p: &PodInfo) -> i64 {
    p.created.map(|t| age(snap, t)).unwrap_or(0)
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

/// Pending and not being deleted: the figures' one definition.
pub(super) use crate::domain::figures::is_pending;

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
        .ok_or_else(|| ctx.not_read("pods", "game pods"))
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
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

#[cfg(test)]
mod tests {
    use super::*;
    use super::{
        crashloop::crashloop, pending::pending, sidecar::sidecar, startup::startup,
        success_rate::success_rate,
    };

    use crate::checks::Outcome;

    use crate::checks::testkit::{eval, expect, gap, healthy};

    use crate::domain::snapshot::GapReason;

    pub(super) fn pods(s: &mut Snapshot) -> &mut Vec<PodInfo> {
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
}
