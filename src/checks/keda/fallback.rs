//! `keda.fallback`: KEDA is not on fallback replicas. The check's docs, its evaluation and its
//! unit tests.

use super::*;

pub static CHECK: Check = Check {
    id: CheckId::KedaFallback,
    title: "KEDA is not on fallback replicas",
    runbook: "Quick Health Checks §2",
    needs: &[CheckId::KedaScaledobject],
    reads: "scaledObject.fallback, scaledObject.conditions[Fallback]",
    docs: Docs {
        what: "The Fallback condition, spec.fallback and its behavior (static, currentReplicas, currentReplicasIfHigher, currentReplicasIfLower; KEDA 2.17+), which decides how many replicas fallback holds.",
        why: "Fallback=True means the scaler failed failureThreshold times in a row and KEDA holds fallback.replicas, not one pod per session; with no fallback a Prometheus outage freezes scaling.",
        fix: "Fix the failing trigger (keda.operator-logs, keda.events); consider spec.fallback {failureThreshold, replicas} sized for peak sessions.",
    },
    source: file!(),
    eval: fallback,
};

pub(super) fn fallback(ctx: &Ctx) -> Verdict {
    let so = match scaled_object(ctx) {
        Ok(so) => so,
        Err(v) => return v,
    };
    let current = match (&ctx.settings.pod_names, &ctx.snap.deployment) {
        // KEDA scales a StatefulSet: the Deployment read is not its target;
        // the HPA's current replicas are the StatefulSet's scale.
        (crate::settings::PodNames::StatefulSet(_), _) => ctx
            .snap
            .keda_hpa(&ctx.settings.scaled_object)
            .and_then(|h| h.current_replicas)
            .map(i64::from),
        (_, Some(Lookup::Found(d))) => d.replicas.map(i64::from),
        _ => None,
    };
    let configured = so.fallback.as_ref().map(|f| {
        format!(
            "fallback: after {} failed queries KEDA holds {}",
            f.failure_threshold
                .map_or("?".to_string(), |n| n.to_string()),
            fallback_holds(f, current)
        )
    });
    if let Some(c) = condition(&so.conditions, "Fallback").filter(|c| c.status == "True") {
        let mut v = Verdict::fail(format!(
            "KEDA is on fallback replicas, not following sessions: {}",
            cond_text(c)
        ))
        .fix("fix the failing trigger (keda.operator-logs, keda.events); fallback ends once a query succeeds")
        .command(describe_so(ctx));
        if let Some(text) = configured {
            v = v.evidence(text);
        }
        return v;
    }
    match configured {
        Some(text) => Verdict::pass(format!("not on fallback; {text}")),
        None => Verdict::pass("not on fallback; no fallback configured: a Prometheus outage freezes scaling")
            .evidence("without spec.fallback a failing query leaves Ready=False/TriggerError and the pod count where it was (no scale-to-zero either)"),
    }
}

/// How many replicas fallback holds, by `fallback.behavior` (kedacore/keda
/// v2.20.2 `pkg/fallback/fallback.go` `doFallback`; KEDA 2.17+ reads the
/// field, older versions and an unset field mean `static`).
fn fallback_holds(f: &crate::domain::snapshot::Fallback, current: Option<i64>) -> String {
    let r = f.replicas.map_or("?".to_string(), |n| n.to_string());
    let cur = current.map_or("?".to_string(), |n| n.to_string());
    let pick = |choose: fn(i64, i64) -> i64| match (current, f.replicas) {
        (Some(c), Some(r)) => choose(c, r).to_string(),
        _ => "?".to_string(),
    };
    match f.behavior.as_deref() {
        None | Some("") | Some("static") => format!("{r} replicas (behavior static)"),
        Some("currentReplicas") => format!(
            "the current replica count, {cur} now (behavior currentReplicas; fallback.replicas {r} unused)"
        ),
        Some("currentReplicasIfHigher") => format!(
            "{} replicas: the current {cur} if higher than fallback.replicas {r} (behavior currentReplicasIfHigher)",
            pick(i64::max)
        ),
        Some("currentReplicasIfLower") => format!(
            "{} replicas: the current {cur} if lower than fallback.replicas {r} (behavior currentReplicasIfLower)",
            pick(i64::min)
        ),
        Some("scalingModifiers") => {
            "what the scalingModifiers formula gives (behavior scalingModifiers)".to_string()
        }
        Some(other) => format!(
            "{r} replicas (behavior {other:?} is unknown; KEDA's fallback treats it as static)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;

    use crate::checks::testkit::*;
    use crate::domain::snapshot::Fallback;

    #[test]
    fn fallback_outcomes() {
        let v = eval(fallback, &healthy());
        expect(&v, Outcome::Pass, "a Prometheus outage freezes scaling");
        let mut s = healthy();
        so_mut(&mut s).fallback = Some(Fallback {
            failure_threshold: Some(3),
            replicas: Some(10),
            behavior: None,
        });
        expect(
            &eval(fallback, &s),
            Outcome::Pass,
            "after 3 failed queries KEDA holds 10 replicas (behavior static)",
        );
        set_cond(
            &mut s,
            cond(
                "Fallback",
                "True",
                "FallbackExists",
                "At least one trigger is falling back on this scaled object",
            ),
        );
        let v = eval(fallback, &s);
        expect(&v, Outcome::Fail, "FallbackExists");
        assert!(v.evidence[0].contains("10 replicas"));
    }

    /// KEDA 2.17+ `fallback.behavior` decides what fallback holds; the
    /// Deployment in `healthy()` runs 3 replicas.
    #[test]
    fn fallback_behavior_decides_the_replicas_held() {
        let mut s = healthy();
        for (behavior, replicas, says) in [
            ("static", 10, "holds 10 replicas (behavior static)"),
            ("currentReplicas", 10, "the current replica count, 3 now"),
            (
                "currentReplicasIfHigher",
                2,
                "holds 3 replicas: the current 3 if higher than fallback.replicas 2",
            ),
            (
                "currentReplicasIfHigher",
                10,
                "holds 10 replicas: the current 3 if higher",
            ),
            (
                "currentReplicasIfLower",
                10,
                "holds 3 replicas: the current 3 if lower than fallback.replicas 10",
            ),
            (
                "currentReplicasIfLower",
                2,
                "holds 2 replicas: the current 3 if lower",
            ),
            ("scalingModifiers", 10, "scalingModifiers formula"),
        ] {
            so_mut(&mut s).fallback = Some(Fallback {
                failure_threshold: Some(3),
                replicas: Some(replicas),
                behavior: Some(behavior.into()),
            });
            expect(&eval(fallback, &s), Outcome::Pass, says);
        }
        s.deployment = None;
        so_mut(&mut s).fallback.as_mut().unwrap().behavior = Some("currentReplicasIfLower".into());
        expect(
            &eval(fallback, &s),
            Outcome::Pass,
            "holds ? replicas: the current ?",
        );
    }

    /// KEDA scales a StatefulSet: "the current replica count" is its scale
    /// (the HPA's current replicas), never the replicas of a Deployment of
    /// the configured name that is not the target.
    #[test]
    fn fallback_of_a_statefulset_target_counts_its_replicas_not_the_configured_deployments() {
        let (mut s, settings) = statefulset_target();
        s.deployment = healthy().deployment;
        if let Some(Lookup::Found(d)) = s.deployment.as_mut() {
            d.replicas = Some(7);
        }
        so_mut(&mut s).fallback = Some(Fallback {
            failure_threshold: Some(3),
            replicas: Some(10),
            behavior: Some("currentReplicas".into()),
        });
        expect(
            &eval_with(fallback, &s, &settings),
            Outcome::Pass,
            "the current replica count, 3 now",
        );
    }
}
