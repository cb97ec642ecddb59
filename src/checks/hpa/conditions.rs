//! `hpa.conditions`: HPA conditions. The check's docs, its evaluation and its
//! unit tests.

use super::*;

pub static CHECK: Check = Check {
    id: CheckId::HpaConditions,
    title: "HPA conditions",
    runbook: "Quick Health Checks §3",
    needs: &[CheckId::HpaExists],
    reads: "hpas (status.conditions, status.currentReplicas), scaledObject",
    docs: Docs {
        what: "Reads the HPA's AbleToScale, ScalingActive and ScalingLimited conditions.",
        why: "AbleToScale=False means the HPA cannot read or write the Deployment's scale; \
              ScalingActive=False means it cannot compute a replica count from the metric \
              (except ScalingDisabled at 0 replicas, the normal state of a KEDA HPA at \
              zero); ScalingLimited=True means a bound or rate policy holds it back, e.g. \
              TooManyReplicas: sessions beyond maxReplicaCount get no pod.",
        fix: "AbleToScale: check the Deployment exists and its /scale can be updated. \
              ScalingActive: check KEDA's metrics API server (apiservice \
              v1beta1.external.metrics.k8s.io) and the trigger query. TooManyReplicas: raise \
              maxReplicaCount. ScaleUpLimit/ScaleDownLimit: relax \
              advanced.horizontalPodAutoscalerConfig.behavior.",
    },
    source: file!(),
    eval: conditions,
};

/// `Type Status Reason: message`, as an evidence line.
fn cond_line(c: &Condition) -> String {
    let mut s = format!("{}={}", c.type_, c.status);
    if let Some(r) = c.reason.as_deref().filter(|r| !r.is_empty()) {
        s.push_str(&format!(" {r}"));
    }
    if let Some(m) = c.message.as_deref().filter(|m| !m.is_empty()) {
        s.push_str(&format!(": {m}"));
    }
    s
}

pub(super) fn conditions(ctx: &Ctx) -> Verdict {
    let hpa = match keda_hpa(ctx) {
        Ok(h) => h,
        Err(v) => return v,
    };
    let so = &ctx.settings.scaled_object;
    let cmd = describe(ctx, &hpa.name);
    let evidence: Vec<String> = hpa.conditions.iter().map(cond_line).collect();
    if hpa.conditions.is_empty() {
        return Verdict::warn(format!(
            "HPA {} has no conditions: the HPA controller has not processed it",
            hpa.name
        ))
        .fix(
            "The HPA controller sets them within one sync period (15 s by default); if they stay \
             empty, kube-controller-manager's HPA controller is not running or cannot reach it.",
        )
        .command(cmd);
    }
    let replicas = hpa.current_replicas.unwrap_or(0);
    let mut findings: Vec<Verdict> = Vec::new();
    let mut notes: Vec<String> = Vec::new();

    if let Some(c) = condition(&hpa.conditions, "AbleToScale").filter(|c| c.status == "False") {
        let fix = match c.reason.as_deref() {
            Some("FailedUpdateScale") => format!(
                "The HPA cannot write the replica count of {}: the error after the \
                 reason names what refused it (an admission webhook, a quota, RBAC).",
                ctx.settings.workload()
            ),
            _ => format!(
                "The HPA cannot read the scale of its target: check that {} exists \
                 and that ScaledObject {so}'s scaleTargetRef names it.",
                ctx.settings.workload()
            ),
        };
        findings.push(
            Verdict::fail(format!("AbleToScale False: {}", quoted(c)))
                .fix(fix)
                .command(cmd.clone()),
        );
    }

    if let Some(c) = condition(&hpa.conditions, "ScalingActive").filter(|c| c.status == "False") {
        if c.reason.as_deref() == Some("ScalingDisabled") && replicas == 0 {
            notes.push("ScalingActive False (ScalingDisabled): normal at 0 replicas".into());
        } else if c.reason.as_deref() == Some("ScalingDisabled") {
            findings.push(
                Verdict::fail(format!(
                    "ScalingActive False with {replicas} replicas: {}",
                    quoted(c)
                ))
                .fix(format!(
                    "The HPA saw {} at 0 replicas while it reports {replicas}: right \
                     after KEDA activates 0→1 this clears within a sync (15 s); if it persists, \
                     something else (kubectl scale, a GitOps tool) keeps setting it to 0.",
                    ctx.settings.workload()
                ))
                .command(cmd.clone()),
            );
        } else {
            findings.push(
                Verdict::fail(format!("ScalingActive False: {}", quoted(c)))
                    .fix(
                        "The HPA cannot compute a replica count from the external metric: KEDA's \
                         metrics API server must answer (apiservice \
                         v1beta1.external.metrics.k8s.io Available=True, \
                         keda-operator-metrics-apiserver running) and the trigger's query must \
                         work (see keda.trigger and keda.operator-logs).",
                    )
                    .command(cmd.clone()),
            );
        }
    }

    if let Some(c) = condition(&hpa.conditions, "ScalingLimited").filter(|c| c.status == "True") {
        match c.reason.as_deref() {
            Some("TooFewReplicas") if replicas == 0 => {
                notes.push("ScalingLimited True (TooFewReplicas): normal at 0 replicas".into());
            }
            Some("TooManyReplicas") => findings.push(
                Verdict::warn(format!(
                    "capped at max {} replicas: {}",
                    hpa.max_replicas,
                    quoted(c)
                ))
                .fix(format!(
                    "Sessions beyond {} get no pod: raise spec.maxReplicaCount on ScaledObject \
                     {so} (the HPA's maxReplicas follows it), and make sure the NodePool limits \
                     allow that many pods.",
                    hpa.max_replicas
                ))
                .command(cmd.clone()),
            ),
            Some("TooFewReplicas") => findings.push(
                Verdict::warn(format!(
                    "held at min {} replicas: {}",
                    hpa.min_replicas.unwrap_or(1),
                    quoted(c)
                ))
                .fix(format!(
                    "The metric asks for fewer pods than the HPA's minReplicas (max of \
                     minReplicaCount and 1). KEDA scales to 0 only once the trigger is inactive \
                     for cooldownPeriod; if pods stay, see keda.cooldown and \
                     keda.activation-threshold on ScaledObject {so}."
                ))
                .command(cmd.clone()),
            ),
            _ => findings.push(
                Verdict::warn(format!("scaling rate limited: {}", quoted(c)))
                    .fix(format!(
                        "The HPA's behavior policies hold it back (default scale-up: doubling \
                         or +4 pods per 15 s): relax \
                         spec.advanced.horizontalPodAutoscalerConfig.behavior on ScaledObject \
                         {so}."
                    ))
                    .command(cmd.clone()),
            ),
        }
    }

    // The worst finding speaks; the others join the evidence.
    crate::checks::worst_first(&mut findings, |v| v.outcome);
    let mut it = findings.into_iter();
    if let Some(first) = it.next() {
        let rest: Vec<String> = it.map(|v| format!("also: {}", v.message)).collect();
        return with_evidence(with_evidence(first, evidence), rest);
    }
    let summary: Vec<String> = ["AbleToScale", "ScalingActive", "ScalingLimited"]
        .iter()
        .filter_map(|t| condition(&hpa.conditions, t))
        .map(|c| {
            format!(
                "{} {} ({})",
                c.type_,
                c.status,
                c.reason.as_deref().unwrap_or("no reason")
            )
        })
        .collect();
    let mut msg = summary.join(", ");
    if !notes.is_empty() {
        msg = format!("{msg}; at 0 replicas, as expected");
    }
    with_evidence(Verdict::pass(msg), evidence)
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;

    use crate::checks::Outcome;
    use crate::checks::testkit::{cond, eval, expect, healthy};

    #[test]
    fn able_to_scale_false_fails() {
        let mut s = healthy();
        set_cond(
            &mut s,
            cond(
                "AbleToScale",
                "False",
                "FailedGetScale",
                "the HPA controller was unable to get the target's current scale: deployments.apps \"spice-runner\" not found",
            ),
        );
        let v = eval(conditions, &s);
        expect(
            &v,
            Outcome::Fail,
            "AbleToScale False: FailedGetScale: the HPA controller",
        );
        assert_eq!(
            v.command.as_deref(),
            Some("kubectl describe hpa keda-hpa-spice-runner-keda -n default")
        );
    }

    #[test]
    fn scaling_active_false_fails_except_disabled_at_zero() {
        let mut s = healthy();
        set_cond(
            &mut s,
            cond(
                "ScalingActive",
                "False",
                "FailedGetExternalMetric",
                "the HPA was unable to compute the replica count: unable to get external metric default/s0-prometheus",
            ),
        );
        expect(
            &eval(conditions, &s),
            Outcome::Fail,
            "ScalingActive False: FailedGetExternalMetric",
        );

        let disabled = cond(
            "ScalingActive",
            "False",
            "ScalingDisabled",
            "scaling is disabled since the replica count of the target is zero",
        );
        set_cond(&mut s, disabled);
        expect(&eval(conditions, &s), Outcome::Fail, "with 3 replicas");
        s.hpas.as_mut().unwrap()[0].current_replicas = Some(0);
        expect(&eval(conditions, &s), Outcome::Pass, "at 0 replicas");
    }

    #[test]
    fn scaling_limited_warns_with_reason() {
        let mut s = healthy();
        set_cond(
            &mut s,
            cond(
                "ScalingLimited",
                "True",
                "TooManyReplicas",
                "the desired replica count is more than the maximum replica count",
            ),
        );
        let v = eval(conditions, &s);
        expect(
            &v,
            Outcome::Warn,
            "capped at max 200 replicas: TooManyReplicas",
        );
        assert!(v.fix.unwrap().contains("maxReplicaCount"));

        set_cond(
            &mut s,
            cond(
                "ScalingLimited",
                "True",
                "ScaleUpLimit",
                "the desired replica count is increasing faster than the maximum scale rate",
            ),
        );
        expect(
            &eval(conditions, &s),
            Outcome::Warn,
            "rate limited: ScaleUpLimit",
        );

        let too_few = cond(
            "ScalingLimited",
            "True",
            "TooFewReplicas",
            "the desired replica count is less than the minimum replica count",
        );
        set_cond(&mut s, too_few);
        expect(&eval(conditions, &s), Outcome::Warn, "held at min 1");
        s.hpas.as_mut().unwrap()[0].current_replicas = Some(0);
        expect(&eval(conditions, &s), Outcome::Pass, "ScalingLimited True");
    }

    #[test]
    fn fail_outranks_warn_and_both_are_reported() {
        let mut s = healthy();
        set_cond(
            &mut s,
            cond("ScalingLimited", "True", "TooManyReplicas", "more than max"),
        );
        set_cond(
            &mut s,
            cond("AbleToScale", "False", "FailedUpdateScale", "denied"),
        );
        let v = eval(conditions, &s);
        expect(&v, Outcome::Fail, "AbleToScale False");
        assert!(
            v.evidence.iter().any(|e| e.contains("also: capped")),
            "{v:#?}"
        );
    }

    #[test]
    fn no_conditions_warns() {
        let mut s = healthy();
        s.hpas.as_mut().unwrap()[0].conditions.clear();
        expect(&eval(conditions, &s), Outcome::Warn, "no conditions");
    }
}
