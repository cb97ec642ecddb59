//! `keda.ready`: ScaledObject is Ready. The check's docs, its evaluation and its
//! unit tests.

use super::*;
use crate::checks::shell_arg;

pub static CHECK: Check = Check {
    id: CheckId::KedaReady,
    title: "ScaledObject is Ready",
    runbook: "Quick Health Checks §2; Quick Validation Checklist",
    needs: &[CheckId::KedaScaledobject],
    reads: "scaledObject.conditions[Ready]",
    docs: Docs {
        what: "The ScaledObject's Ready condition (READY column of `kubectl get scaledobject`).",
        why: "Ready=False means KEDA rejected the spec (ScaledObjectCheckFailed) or the trigger fails (TriggerError); Unknown with PartialTriggerError means one trigger fails. KEDA 2.20.0–2.20.1 also turn Ready False when only the HPA is unhealthy (HPAMetricsUnavailable), 2.20.2 sets HPAActive=False instead: then this check warns and the HPA checks judge the cause, never blocked by it.",
        fix: "Fix what the condition's reason and message name; the operator logs and the ScaledObject's Warning events carry the full error.",
    },
    source: file!(),
    eval: ready,
};

pub(super) fn ready(ctx: &Ctx) -> Verdict {
    let so = match scaled_object(ctx) {
        Ok(so) => so,
        Err(v) => return v,
    };
    let Some(c) = condition(&so.conditions, "Ready") else {
        return Verdict::warn(format!(
            "ScaledObject {} has no Ready condition: KEDA has not reconciled it (is the operator running?)",
            so.name
        ))
        .fix("check the KEDA operator (keda.operator) and its logs; a new ScaledObject gets its conditions within seconds")
        .command(describe_so(ctx));
    };
    let text = cond_text(c);
    if let Some(v) = hpa_health_in_ready(ctx, so, c) {
        return v;
    }
    match c.status.as_str() {
        "True" => Verdict::pass(text),
        "False" => {
            // KEDA's condition says only "triggers are not working"; the
            // error itself is in the ScaledObject's events and the operator's
            // log. Quote it here, where the engineer reads first.
            let quoted = scaler_errors(ctx);
            let fix = match c.reason.as_deref().unwrap_or_default() {
                "TriggerError" if !quoted.is_empty() => {
                    format!("the prometheus trigger fails: {}", scaler_error_fix(&quoted.join(" ")))
                }
                "ScaledObjectCheckFailed" => {
                    "fix the ScaledObject spec as the message says (replica counts, triggers, scale target)".to_string()
                }
                "TriggerError" => format!(
                    "the prometheus trigger fails: {}",
                    scaler_error_fix(c.message.as_deref().unwrap_or_default())
                ),
                "ErrorGettingCurrentReplicas" => {
                    "KEDA cannot read the target's /scale: check spec.scaleTargetRef and the keda-operator's RBAC".to_string()
                }
                "ScalingDegraded" => {
                    "KEDA's trigger fails and the HPA cannot read its metric: fix the trigger first (the reason quoted after \"SO is not healthy\"), then check keda-operator-metrics-apiserver".to_string()
                }
                _ => "fix what the condition's message names, then watch READY turn True".to_string(),
            };
            let mut v = Verdict::fail(format!("ScaledObject {} is not ready: {text}", so.name))
                .fix(fix)
                .command(describe_so(ctx));
            for q in quoted {
                v = v.evidence(q);
            }
            v
        }
        _ => Verdict::warn(format!(
            "ScaledObject {} readiness is unknown: {text}",
            so.name
        ))
        .fix("a trigger is failing or KEDA could not check the ScaledObject: see keda.events and keda.operator-logs for the error")
        .command(describe_so(ctx)),
    }
}

/// The ScaledObject's own reasons for not being Ready, as opposed to the HPA's.
const SCALED_OBJECT_FAILURES: &[&str] = &[
    "TriggerError",
    "ScaledObjectCheckFailed",
    "ErrorGettingCurrentReplicas",
];

/// KEDA 2.20 reports the HPA's health on the ScaledObject: 2.20.0–2.20.1
/// turn Ready False with `HPAMetricsUnavailable` (KEDA itself fine) or
/// `ScalingDegraded` (KEDA not fine either; its own reason is quoted in the
/// message), 2.20.2 leaves Ready alone and sets `HPAActive` False
/// (kedacore/keda v2.20.0 and v2.20.2 `pkg/scaling/executor/scale_scaledobjects.go`).
/// When only the HPA is unhealthy, keda.ready warns and points at the HPA
/// checks instead of failing, so it never blocks them with the HPA's own cause.
fn hpa_health_in_ready(ctx: &Ctx, so: &ScaledObjectInfo, ready: &Condition) -> Option<Verdict> {
    let reason = ready.reason.as_deref().unwrap_or_default();
    let message = ready.message.as_deref().unwrap_or_default();
    let hpa_only = match (ready.status.as_str(), reason) {
        ("False", "HPAMetricsUnavailable") => true,
        ("False", "ScalingDegraded") => !SCALED_OBJECT_FAILURES
            .iter()
            .any(|r| message.contains(&format!("SO is not healthy: {r}"))),
        _ => false,
    };
    let hpa_active = condition(&so.conditions, "HPAActive").filter(|c| c.status == "False");
    let shown = match (hpa_only, ready.status.as_str(), hpa_active) {
        (true, _, _) => cond_text(ready),
        (false, "True", Some(h)) => format!("{}, but {}", cond_text(ready), cond_text(h)),
        _ => return None,
    };
    let hpa = ctx.snap.keda_hpa_name(&ctx.settings.scaled_object);
    Some(
        Verdict::warn(format!(
            "ScaledObject {} is fine but KEDA reports its HPA unhealthy: {shown}",
            so.name
        ))
        .evidence(format!(
            "the cause is HPA {hpa}'s metric, judged by hpa.conditions and hpa.metric; keda.metrics-apiserver checks the server that serves it"
        ))
        .fix("see hpa.conditions and keda.metrics-apiserver: FailedGetExternalMetric means the HPA cannot reach keda-operator-metrics-apiserver (external.metrics.k8s.io)")
        .command(format!("kubectl describe hpa {} -n {}", shell_arg(&hpa), ctx.ns())),
    )
}

/// A long error shortened in its middle: Go errors put the URL first and the
/// cause ("no such host", "connection refused") last.
fn head_tail(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= 240 {
        return text.to_string();
    }
    let head: String = chars[..90].iter().collect();
    let tail: String = chars[chars.len() - 140..].iter().collect();
    format!("{head} … {tail}")
}

/// Up to two recent scaler errors: Warning events on the ScaledObject first,
/// then error lines of the operator's log, each truncated.
fn scaler_errors(ctx: &Ctx) -> Vec<String> {
    let mut out = Vec::new();
    let name = &ctx.settings.scaled_object;
    if let Some(events) = &ctx.snap.events {
        let mut warnings: Vec<&crate::domain::snapshot::EventInfo> = events
            .iter()
            .filter(|e| {
                e.object_kind == "ScaledObject" && e.object_name == *name && e.type_ == "Warning"
            })
            .collect();
        warnings.sort_by_key(|e| std::cmp::Reverse(e.last_seen));
        if let Some(e) = warnings.first() {
            out.push(format!("event {}: {}", e.reason, head_tail(&e.message)));
        }
    }
    if let Some(l) = our_log_lines(ctx).rev().find(|l| is_scaler_error(&l.line)) {
        out.push(format!("operator log: {}", head_tail(l.line.trim())));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;

    use crate::checks::testkit::*;

    #[test]
    fn ready_true_passes() {
        expect(&eval(ready, &healthy()), Outcome::Pass, "Ready=True");
    }

    #[test]
    fn ready_false_fails_quoting_reason_and_message() {
        let mut s = healthy();
        set_cond(
            &mut s,
            cond(
                "Ready",
                "False",
                "TriggerError",
                "Triggers defined in ScaledObject are not working correctly",
            ),
        );
        let v = eval(ready, &s);
        expect(&v, Outcome::Fail, "TriggerError: Triggers defined");
        // With the scaler's error in the events, it is quoted and drives the fix.
        s.events = Some(vec![event(
            "ScaledObject",
            "spice-runner-keda",
            "Warning",
            "KEDAScalerFailed",
            "Get \"http://prometheus.monitoring.svc:9090/api/v1/query\": dial tcp: lookup prometheus.monitoring.svc: no such host",
            30,
        )]);
        let quoted = eval(ready, &s);
        assert!(
            quoted.evidence.iter().any(|e| e.contains("no such host")),
            "{quoted:#?}"
        );
        assert!(
            quoted
                .fix
                .as_deref()
                .unwrap_or("")
                .contains("serverAddress"),
            "{quoted:#?}"
        );
        assert_eq!(
            v.command.as_deref(),
            Some("kubectl describe scaledobject spice-runner-keda -n default")
        );
    }

    #[test]
    fn ready_unknown_or_absent_warns() {
        let mut s = healthy();
        set_cond(
            &mut s,
            cond(
                "Ready",
                "Unknown",
                "PartialTriggerError",
                "Some triggers defined in ScaledObject are not working correctly",
            ),
        );
        expect(&eval(ready, &s), Outcome::Warn, "PartialTriggerError");
        without_cond(&mut s, "Ready");
        expect(&eval(ready, &s), Outcome::Warn, "no Ready condition");
    }

    #[test]
    fn hpa_health_in_ready_warns_and_never_fails_keda_ready() {
        // v2.20.0–2.20.1: Ready False HPAMetricsUnavailable, KEDA itself fine.
        let mut s = healthy();
        set_cond(
            &mut s,
            cond(
                "Ready",
                "False",
                "HPAMetricsUnavailable",
                "ScaledObject is configured correctly but HPA is not healthy: FailedGetExternalMetric",
            ),
        );
        let v = eval(ready, &s);
        expect(&v, Outcome::Warn, "KEDA reports its HPA unhealthy");
        assert!(v.fix.unwrap().contains("keda-operator-metrics-apiserver"));
        // ScalingDegraded without a failure of KEDA's own.
        set_cond(
            &mut s,
            cond(
                "Ready",
                "False",
                "ScalingDegraded",
                "Not ready because HPA is not healthy: FailedGetExternalMetric and SO is not healthy: PartialTriggerError - Some triggers defined in ScaledObject are not working correctly",
            ),
        );
        expect(&eval(ready, &s), Outcome::Warn, "ScalingDegraded");
        // ScalingDegraded over a TriggerError: KEDA's trigger is the cause.
        set_cond(
            &mut s,
            cond(
                "Ready",
                "False",
                "ScalingDegraded",
                "Not ready because HPA is not healthy: FailedGetExternalMetric and SO is not healthy: TriggerError - Triggers defined in ScaledObject are not working correctly",
            ),
        );
        let v = eval(ready, &s);
        expect(&v, Outcome::Fail, "is not ready");
        assert!(v.fix.unwrap().contains("fix the trigger first"));
        // v2.20.2: Ready True, HPAActive False.
        let mut s = healthy();
        so_mut(&mut s).conditions.push(cond(
            "HPAActive",
            "False",
            "FailedGetExternalMetric",
            "HPA is not actively scaling: the HPA was unable to compute the replica count",
        ));
        expect(
            &eval(ready, &s),
            Outcome::Warn,
            "but HPAActive=False (FailedGetExternalMetric",
        );
        so_mut(&mut s).conditions.last_mut().unwrap().status = "True".into();
        expect(&eval(ready, &s), Outcome::Pass, "Ready=True");
    }
}
