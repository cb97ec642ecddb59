//! `keda.events`: No Warning events on the ScaledObject. The check's docs, its evaluation and its
//! unit tests.

use super::*;
use crate::checks::shell_arg;

pub static CHECK: Check = Check {
    id: CheckId::KedaEvents,
    title: "No Warning events on the ScaledObject",
    runbook: "Kubectl Monitoring Commands: View Scaling Events",
    needs: &[CheckId::KedaScaledobject],
    reads: "events (involvedObject ScaledObject <scaledObject>)",
    docs: Docs {
        what: "Warning events on the ScaledObject: KEDAScalerFailed, ScaledObjectCheckFailed, KEDAScaleTargetActivationFailed, ...",
        why: "KEDA reports scaler and scale failures as events; the runbook's `grep -i scale` over all events hides them among normal ones.",
        fix: "Fix what the newest event's message says; events expire after an hour, so a recent one is a current problem. An event written through events.k8s.io (KEDA 2.20) is as recent as its series.lastObservedTime.",
    },
    source: file!(),
    eval: events,
};

/// The events of the ScaledObject alone, as the check reads them.
pub(crate) fn command(namespace: &str, scaled_object: &str) -> String {
    format!(
        "kubectl get events -n {namespace} --field-selector {}",
        shell_arg(&format!("involvedObject.name={scaled_object}"))
    )
}

pub(super) fn events(ctx: &Ctx) -> Verdict {
    let Some(all) = &ctx.snap.events else {
        return ctx.not_read("events", "events were");
    };
    let (name, ns) = (&ctx.settings.scaled_object, ctx.ns());
    let now = ctx.snap.captured_at;
    let warnings: Vec<&crate::domain::snapshot::EventInfo> = all
        .iter()
        .filter(|e| {
            e.object_kind == "ScaledObject" && e.object_name == *name && e.type_ == "Warning"
        })
        .collect();
    if warnings.is_empty() {
        return Verdict::pass(format!("no Warning events on ScaledObject {name}"));
    }
    let seen_secs = |e: &crate::domain::snapshot::EventInfo| {
        e.last_seen.map(|t| now.as_second() - t.as_second())
    };
    // Newest first; an event without a time counts as recent.
    let mut sorted = warnings;
    sorted.sort_by_key(|e| seen_secs(e).unwrap_or(i64::MIN));
    let newest = sorted[0];
    let when = |e: &crate::domain::snapshot::EventInfo| {
        e.last_seen.map_or("time unknown".to_string(), |t| {
            format!("{} ago", age(now, t))
        })
    };
    let recent = sorted
        .iter()
        .any(|e| seen_secs(e).is_none_or(|s| s <= RECENT_EVENT_SECS));
    let summary = format!(
        "{} Warning event(s) on ScaledObject {name}, newest {}: {} ({})",
        sorted.len(),
        newest.reason,
        truncate(&newest.message, 120),
        when(newest)
    );
    let fix = match newest.reason.as_str() {
        "KEDAScalerFailed" => scaler_error_fix(&newest.message),
        "ScaledObjectCheckFailed" => {
            "fix the ScaledObject spec or its scale target as the message says".to_string()
        }
        "KEDAScaleTargetActivationFailed" | "KEDAScaleTargetDeactivationFailed" => {
            "KEDA cannot write the Deployment's /scale: check the keda-operator's RBAC and the Deployment".to_string()
        }
        _ => "fix what the event's message says".to_string(),
    };
    let mut v = if recent {
        Verdict::fail(summary)
    } else {
        Verdict::warn(format!(
            "{summary}; none in the last {} min, so it may be over",
            RECENT_EVENT_SECS / 60
        ))
    }
    .fix(fix)
    .command(command(ns, name));
    for e in sorted.iter().take(5) {
        v = v.evidence(format!(
            "{}: {} (count {}, {})",
            e.reason,
            truncate(&e.message, QUOTE_CHARS),
            e.count,
            when(e)
        ));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::checks::testkit::*;
    use crate::domain::snapshot::GapReason;

    #[test]
    fn no_warning_events_pass_even_with_normal_and_foreign_ones() {
        let mut s = healthy();
        s.events = Some(vec![
            event(
                "ScaledObject",
                "spice-runner-keda",
                "Normal",
                "KEDAScaleTargetActivated",
                "Scaled apps/v1.Deployment default/spice-runner from 0 to 1, triggered by s0-prometheus",
                30,
            ),
            event(
                "ScaledObject",
                "other-keda",
                "Warning",
                "KEDAScalerFailed",
                "boom",
                30,
            ),
            event("Pod", "spice-runner-keda", "Warning", "BackOff", "boom", 30),
        ]);
        expect(&eval(events, &s), Outcome::Pass, "no Warning events");
    }

    #[test]
    fn recent_warning_events_fail_quoting_reason_count_and_age() {
        let mut s = healthy();
        let mut e = event(
            "ScaledObject",
            "spice-runner-keda",
            "Warning",
            "KEDAScalerFailed",
            "prometheus query sum(x) by (pod) returned multiple elements",
            45,
        );
        e.count = 12;
        s.events = Some(vec![
            event(
                "ScaledObject",
                "spice-runner-keda",
                "Warning",
                "ScaledObjectCheckFailed",
                "Target resource doesn't exist",
                3000,
            ),
            e,
        ]);
        let v = eval(events, &s);
        expect(&v, Outcome::Fail, "newest KEDAScalerFailed");
        assert!(v.message.contains("45s ago"), "{}", v.message);
        assert_eq!(
            v.evidence[0],
            "KEDAScalerFailed: prometheus query sum(x) by (pod) returned multiple elements (count 12, 45s ago)"
        );
        assert!(v.evidence[1].contains("50m ago"));
        assert_eq!(
            v.command.as_deref(),
            Some(
                "kubectl get events -n default --field-selector involvedObject.name=spice-runner-keda"
            )
        );
    }

    #[test]
    fn only_old_warning_events_warn() {
        let mut s = healthy();
        s.events = Some(vec![event(
            "ScaledObject",
            "spice-runner-keda",
            "Warning",
            "KEDAScaleTargetActivationFailed",
            "Failed to scale apps/v1.Deployment default/spice-runner from 0 to 1",
            2400,
        )]);
        expect(&eval(events, &s), Outcome::Warn, "may be over");
    }

    #[test]
    fn events_not_read_is_error_or_skip() {
        let mut s = healthy();
        s.events = None;
        gap(
            &mut s,
            "events",
            GapReason::Forbidden,
            "events is forbidden",
        );
        expect(&eval(events, &s), Outcome::Error, "forbidden");
        let mut s = healthy();
        s.events = None;
        expect(&eval(events, &s), Outcome::Skip, "not collected");
    }
}
