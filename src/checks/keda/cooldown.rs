//! `keda.cooldown`: Scale-down timing meets the target. The check's docs, its evaluation and its
//! unit tests.

use super::query_shape::rate_window_secs;
use super::*;
use crate::checks::shell_arg;
use crate::domain::figures::{HPA_DEFAULT_SCALE_DOWN_STABILIZATION_SECS, RATE_WINDOW_SECS};
use crate::domain::model::Select;
use crate::domain::model::scaling::BehaviorSource;
use crate::domain::snapshot::FORCE_ACTIVATION;

pub static CHECK: Check = Check {
    id: CheckId::KedaCooldown,
    title: "Scale-down timing meets the target",
    runbook: "Troubleshooting: Pods Not Scaling Down, Check 2",
    needs: &[CheckId::KedaScaledobject],
    reads: "scaledObject.cooldownPeriod, scaledObject.pollingInterval, scaledObject.triggers (query rate window), scaledObject.scaleDownStabilization, hpas[keda-hpa].scaleDownStabilization, settings targets.scaleDown",
    docs: Docs {
        what: "Time to zero ≈ rate window + cooldownPeriod (default 300 s) + pollingInterval; N→M shrink waits the HPA's scale-down stabilization (default 300 s).",
        why: "cooldownPeriod only governs the last pod (1→0); between N and M the HPA decides and by default keeps the highest recommendation of the last 5 minutes.",
        fix: "Lower cooldownPeriod and the query's rate window; set advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds on the ScaledObject.",
    },
    source: file!(),
    eval: cooldown,
};

/// The rate window assumed when the trigger query has none we can read: the
/// sessions query's, the runbook's `[1m]`.
const DEFAULT_RATE_WINDOW_SECS: i64 = RATE_WINDOW_SECS;

pub(super) fn cooldown(ctx: &Ctx) -> Verdict {
    let so = match scaled_object(ctx) {
        Ok(so) => so,
        Err(v) => return v,
    };
    let target = ctx.settings.targets.scale_down_seconds;
    let p = so.polling_interval_or_default();
    let cd = so.cooldown_period_or_default();
    let cd_source = if so.cooldown_period.is_some() {
        ""
    } else {
        ", KEDA default"
    };
    let query = so
        .prometheus_trigger()
        .and_then(|t| t.metadata.get("query"));
    let (w, w_source) = match query.and_then(|q| rate_window_secs(q)) {
        Some(w) => (w, "rate window of the trigger query"),
        None => (DEFAULT_RATE_WINDOW_SECS, "rate window, assumed"),
    };
    let hpa_name = ctx.snap.keda_hpa_name(&ctx.settings.scaled_object);
    let m = &ctx.figures.scaling;
    let (stab, stab_source) = match (
        so.scale_down_stabilization,
        ctx.snap
            .keda_hpa(&ctx.settings.scaled_object)
            .and_then(|h| h.scale_down_stabilization),
    ) {
        (Some(s), _) => (
            s,
            "ScaledObject advanced.horizontalPodAutoscalerConfig.behavior".to_string(),
        ),
        (None, Some(s)) => (i64::from(s), format!("HPA {hpa_name}")),
        (None, None) => (
            HPA_DEFAULT_SCALE_DOWN_STABILIZATION_SECS,
            "Kubernetes default, behavior unset".to_string(),
        ),
    };
    // A behavior written on the HPA or the ScaledObject is what the HPA runs.
    let (stab, stab_source) = match &m.behavior_source {
        BehaviorSource::Defaults => (stab, stab_source),
        source => (m.down.stabilization_secs, source.text()),
    };
    let min = so.min_replicas_or_default();
    let to_zero = w + cd + p;
    let mut evidence = Vec::new();
    let mut issues = Vec::new();
    if min == 0 && m.force_activation {
        // KEDA counts the ScaledObject active whatever the trigger says:
        // cooldownPeriod never starts.
        issues.push(Issue::warn(
            m.force_activation_text().unwrap_or_default(),
            format!(
                "remove the annotation {FORCE_ACTIVATION} from ScaledObject {} when the forced activation is over; lowering cooldownPeriod changes nothing while it is set",
                shell_arg(&ctx.settings.scaled_object)
            ),
        ));
        evidence.push(format!(
            "to zero: never while {FORCE_ACTIVATION} is set (cooldownPeriod {cd} s{cd_source} does not start)"
        ));
    } else if min == 0 {
        evidence.push(format!(
            "to zero ≈ {w} s ({w_source}) + {cd} s (cooldownPeriod{cd_source}) + {p} s (pollingInterval) = {to_zero} s vs target {} s",
            num(target)
        ));
        if to_zero as f64 > target {
            let budget = target as i64 - w - p;
            let fix = if budget < 0 {
                format!(
                    "the {w} s rate window plus pollingInterval already exceed {} s: shorten the query's window (e.g. [30s], needs a scrape interval ≤ 15 s) and set cooldownPeriod low, or accept ≈ {to_zero} s",
                    num(target)
                )
            } else {
                format!("set spec.cooldownPeriod: {budget} (or less)")
            };
            issues.push(Issue::warn(
                format!(
                    "scale to zero takes ≈ {to_zero} s ({w} s window + {cd} s cooldownPeriod + {p} s pollingInterval) > {} s target",
                    num(target)
                ),
                fix,
            ));
        }
    } else {
        evidence.push(format!(
            "minReplicaCount {min}: no scale to zero, cooldownPeriod does not apply"
        ));
    }
    let disabled = m.down.select == Select::Disabled;
    if disabled {
        // KEDA writes it for paused-scale-in: the HPA never shrinks.
        evidence.push(format!(
            "N→M shrink: never: the HPA's scaleDown selectPolicy is Disabled ({stab_source}); cooldownPeriod only governs 1→0"
        ));
        let paused_in = so.bool_annotation(crate::domain::snapshot::PAUSED_SCALE_IN);
        issues.push(Issue::warn(
            "the HPA never scales down between N and 1 pods: behavior.scaleDown.selectPolicy is Disabled",
            if paused_in {
                format!(
                    "KEDA writes Disabled for the annotation {}: remove it when the pause is over",
                    crate::domain::snapshot::PAUSED_SCALE_IN
                )
            } else {
                "set advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.selectPolicy: Max (or remove it) on the ScaledObject".to_string()
            },
        ));
    } else {
        evidence.push(format!(
            "N→M shrink ≈ {w} s (window) + up to {HPA_SYNC_SECS} s (HPA sync) + {stab} s scale-down stabilization ({stab_source}); cooldownPeriod only governs 1→0"
        ));
        // The policies' pace, on an example as large as the Deployment is now.
        let from = ctx
            .snap
            .keda_hpa(&ctx.settings.scaled_object)
            .and_then(|h| h.current_replicas)
            .map(i64::from)
            .filter(|c| *c >= 8)
            .unwrap_or(20);
        let to = (from / 4).max(m.hpa_min());
        if let Some(steps) = m.down.steps_secs(from, to).filter(|s| *s > HPA_SYNC_SECS) {
            let line = format!(
                "scaleDown policy {}: {from} → {to} pods takes ≈ {} ({steps} s of steps after the {stab} s window)",
                m.down.policies_text(),
                crate::domain::quantity::human_duration(steps + stab)
            );
            evidence.push(line.clone());
            if (steps + stab) as f64 > target {
                issues.push(Issue::warn(
                    line,
                    "allow more per period in advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.policies on the ScaledObject (e.g. type Percent, value 100, periodSeconds 15)",
                ));
            }
        }
    }
    if stab as f64 > target && !disabled {
        let suggest = ((target / 2.0).round() as i64).max(0);
        issues.push(Issue::warn(
            format!(
                "shrinking from N to M pods (not to zero) waits ≥ {stab} s of HPA scale-down stabilization ({stab_source})"
            ),
            format!(
                "on the ScaledObject set advanced: {{horizontalPodAutoscalerConfig: {{behavior: {{scaleDown: {{stabilizationWindowSeconds: {suggest}}}}}}}}} (KEDA copies it to the HPA)"
            ),
        ));
    }
    let cmd = if stab as f64 > target {
        format!(
            "kubectl get hpa {} -n {} -o jsonpath='{{.spec.behavior.scaleDown}}'",
            shell_arg(&hpa_name),
            ctx.ns()
        )
    } else {
        so_jsonpath(ctx, "{.spec.cooldownPeriod} {.spec.pollingInterval}")
    };
    combine(
        issues,
        format!(
            "scale-down within target {} s: to zero ≈ {}, N→M stabilization {stab} s",
            num(target),
            if min == 0 {
                format!("{to_zero} s")
            } else {
                "n/a (minReplicaCount ≥ 1)".to_string()
            }
        ),
        evidence,
        cmd,
    )
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;

    use crate::checks::testkit::*;

    #[test]
    fn runbook_cooldown_warns_with_arithmetic_never_fails() {
        let v = eval(cooldown, &healthy());
        expect(
            &v,
            Outcome::Warn,
            "≈ 95 s (60 s window + 30 s cooldownPeriod + 5 s pollingInterval) > 60 s target",
        );
        assert!(v.message.contains("≥ 300 s"), "{}", v.message);
        let fix = v.fix.unwrap();
        assert!(fix.contains("stabilizationWindowSeconds: 30"), "{fix}");
        assert!(fix.contains("[30s]"), "{fix}");
        assert_eq!(
            v.command.as_deref(),
            Some(
                "kubectl get hpa keda-hpa-spice-runner-keda -n default -o jsonpath='{.spec.behavior.scaleDown}'"
            )
        );
    }

    #[test]
    fn fast_scale_down_settings_pass() {
        let mut s = healthy();
        set_query(
            &mut s,
            r#"sum(rate(nginx_http_requests_total{service="spice-runner-nginx"}[30s]))"#,
        );
        so_mut(&mut s).cooldown_period = Some(20);
        so_mut(&mut s).scale_down_stabilization = Some(30);
        let v = eval(cooldown, &s);
        expect(&v, Outcome::Pass, "to zero ≈ 55 s");
        assert!(v.evidence[0].contains("rate window of the trigger query"));
    }

    #[test]
    fn cooldown_reads_stabilization_from_the_hpa_and_defaults() {
        let mut s = healthy();
        s.hpas.as_mut().unwrap()[0].scale_down_stabilization = Some(30);
        let v = eval(cooldown, &s);
        expect(&v, Outcome::Warn, "scale to zero takes ≈ 95 s");
        assert!(!v.message.contains("N to M"), "{}", v.message);
        assert!(
            v.evidence[1]
                .contains("30 s scale-down stabilization (HPA keda-hpa-spice-runner-keda)")
        );

        let mut s = healthy();
        so_mut(&mut s).cooldown_period = None;
        so_mut(&mut s).scale_down_stabilization = Some(0);
        let v = eval(cooldown, &s);
        expect(&v, Outcome::Warn, "60 s window + 300 s cooldownPeriod");
        assert!(!v.message.contains("N to M"));

        let mut s = healthy();
        so_mut(&mut s).min_replicas = Some(1);
        let v = eval(cooldown, &s);
        expect(&v, Outcome::Warn, "N to M");
        assert!(!v.message.contains("scale to zero"));
    }

    fn behavior(
        down: crate::domain::snapshot::ScalingRulesInfo,
    ) -> crate::domain::snapshot::BehaviorInfo {
        crate::domain::snapshot::BehaviorInfo {
            scale_up: None,
            scale_down: Some(down),
        }
    }

    #[test]
    fn a_disabled_scale_down_is_never_promised_a_shrink() {
        let mut s = healthy();
        s.hpas.as_mut().unwrap()[0].behavior =
            Some(behavior(crate::domain::snapshot::ScalingRulesInfo {
                select_policy: Some("Disabled".into()),
                ..Default::default()
            }));
        let v = eval(cooldown, &s);
        let all = format!("{v:#?}");
        assert!(!all.contains("N→M shrink ≈"), "{all}");
        assert!(
            v.evidence
                .iter()
                .any(|e| e.starts_with("N→M shrink: never")),
            "{all}"
        );
        assert!(all.contains("selectPolicy is Disabled"), "{all}");
    }

    #[test]
    fn a_one_pod_per_60_s_policy_says_20_to_5_takes_minutes() {
        let mut s = healthy();
        s.hpas.as_mut().unwrap()[0].behavior =
            Some(behavior(crate::domain::snapshot::ScalingRulesInfo {
                stabilization_window_seconds: Some(60),
                policies: vec![crate::domain::snapshot::ScalingPolicyInfo {
                    type_: "Pods".into(),
                    value: 1,
                    period_seconds: 60,
                }],
                ..Default::default()
            }));
        let v = eval(cooldown, &s);
        let all = format!("{v:#?}");
        assert!(
            all.contains("scaleDown policy 1 pod per 60 s: 20 → 5 pods takes ≈ 15m (840 s of steps after the 60 s window)"),
            "{all}"
        );
        assert!(all.contains("scaleDown.policies"), "{all}");
    }

    #[test]
    fn force_activation_names_the_annotation_not_cooldown() {
        let mut s = healthy();
        so_mut(&mut s)
            .annotations
            .insert(FORCE_ACTIVATION.into(), "true".into());
        so_mut(&mut s).conditions = vec![cond(
            "Active",
            "True",
            "ScalerActive",
            "Scaling is performed because triggers are active",
        )];
        let v = eval(cooldown, &s);
        let all = format!("{v:#?}");
        assert!(all.contains("so KEDA never scales 1 → 0"), "{all}");
        assert!(
            all.contains("Active=True: \\\"Scaling is performed"),
            "{all}"
        );
        assert!(
            all.contains("remove the annotation autoscaling.keda.sh/force-activation"),
            "{all}"
        );
        assert!(!all.contains("set spec.cooldownPeriod"), "{all}");
    }
}
