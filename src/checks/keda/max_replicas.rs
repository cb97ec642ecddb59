//! `keda.max-replicas`: maxReplicaCount leaves headroom. The check's docs, its evaluation and its
//! unit tests.

use super::*;
use crate::checks::shell_arg;

pub static CHECK: Check = Check {
    id: CheckId::KedaMaxReplicas,
    title: "maxReplicaCount leaves headroom",
    runbook: "Quick Health Checks §2 (MAX); Testing Scenarios: Test 3",
    needs: &[CheckId::KedaScaledobject],
    reads: "scaledObject.maxReplicaCount, scaledObject.triggers (threshold), prometheus[sessions], prometheus[runningPods], pods",
    docs: Docs {
        what: "The pods the trigger asks for, ceil(sessions / threshold), against maxReplicaCount (KEDA default 100).",
        why: "At maxReplicaCount the HPA stops (ScalingLimited/TooManyReplicas): further sessions get no pod.",
        fix: "Raise spec.maxReplicaCount above the peak session count, and check that the Karpenter NodePool limits can hold that many pods.",
    },
    source: file!(),
    eval: max_replicas,
};

pub(super) fn max_replicas(ctx: &Ctx) -> Verdict {
    let so = match scaled_object(ctx) {
        Ok(so) => so,
        Err(v) => return v,
    };
    let max = so.max_replicas_or_default();
    let source = if so.max_replicas.is_some() {
        String::new()
    } else {
        format!(" (KEDA default {KEDA_DEFAULT_MAX_REPLICAS})")
    };
    let s = match sessions(ctx) {
        Ok(s) => s,
        Err(why) => {
            return Verdict::skip(format!(
                "sessions unknown ({why}); maxReplicaCount {max}{source}"
            ));
        }
    };
    // The model's target (the trigger's threshold, or scalingModifiers'
    // target for composite-metric) and what its calculator wants for the
    // sessions from the pods running now (tolerance included), uncapped.
    let model = &ctx.figures.scaling;
    let th = model.target.value;
    // Running pods as status counts them: kube-state-metrics, else the pod list.
    let pods = ctx
        .figures
        .running_pods
        .or_else(|| ctx.figures.pods.map(|p| p.running as f64));
    let desired = model.wanted(s, pods.map_or(0, |p| p.round() as i64)) as f64;
    let pods_text = pods.map_or("unknown".to_string(), num);
    let arithmetic = format!(
        "desired = ceil({} sessions / {} {}) = {} (the scaling model, tolerance {}); maxReplicaCount {max}{source}; Running pods {pods_text}",
        num(s),
        if matches!(
            ctx.figures.scaling.target.source,
            crate::domain::model::scaling::TargetSource::Composite { .. }
        ) {
            "scalingModifiers target"
        } else {
            "threshold"
        },
        num(th),
        num(desired),
        num(model.up.tolerance)
    );
    let hpa_cmd = format!(
        "kubectl get hpa {} -n {}",
        shell_arg(&ctx.snap.keda_hpa_name(&ctx.settings.scaled_object)),
        ctx.ns()
    );
    // Traffic at the idle floor (exporter scrapes, probes) is not players:
    // no pod is wanted for it, whatever the calculator would make of it.
    if ctx.figures.idle.no_sessions(s) {
        return Verdict::pass(format!(
            "no players ({} req/s is at or below the idle floor): no pod wanted, maxReplicaCount {max}{source}",
            num(s)
        ))
        .evidence(arithmetic);
    }
    let fix = "raise spec.maxReplicaCount above the peak session count, and check that the Karpenter NodePool limits can hold that many pods";
    let max_f = max as f64;
    if desired > max_f && pods.is_some_and(|p| p >= max_f) {
        return Verdict::fail(format!(
            "capped: {} sessions want {} pods but maxReplicaCount is {max} and {pods_text} pods run: {} session(s) have no pod",
            num(s),
            num(desired),
            num(desired - max_f)
        ))
        .evidence(arithmetic)
        .fix(fix)
        .command(hpa_cmd);
    }
    if desired >= 0.8 * max_f {
        return Verdict::warn(format!(
            "{} sessions want {} pods, {}% of maxReplicaCount {max}",
            num(s),
            num(desired),
            num((100.0 * desired / max_f).round())
        ))
        .evidence(arithmetic)
        .fix(fix)
        .command(hpa_cmd);
    }
    Verdict::pass(format!(
        "{} sessions want {} {}, maxReplicaCount {max}{source}",
        num(s),
        num(desired),
        if desired == 1.0 { "pod" } else { "pods" }
    ))
    .evidence(arithmetic)
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;

    use crate::checks::testkit::*;

    #[test]
    fn max_replicas_outcomes() {
        expect(
            &eval(max_replicas, &healthy()),
            Outcome::Pass,
            "3 sessions want 3 pods, maxReplicaCount 200",
        );

        // One session on one pod: singular.
        let mut s = healthy();
        set_prom(&mut s, promql::SESSIONS, Some(1.0));
        set_prom(&mut s, promql::RUNNING_PODS, Some(1.0));
        expect(
            &eval(max_replicas, &s),
            Outcome::Pass,
            "want 1 pod, maxReplicaCount",
        );

        // The idle floor (0.067 req/s of exporter scrapes) is no player.
        let mut s = healthy();
        set_prom(&mut s, promql::SESSIONS, Some(0.067));
        set_prom(&mut s, promql::RUNNING_PODS, Some(0.0));
        let v = eval(max_replicas, &s);
        expect(
            &v,
            Outcome::Pass,
            "no players (0.07 req/s is at or below the idle floor): no pod wanted",
        );
        assert!(!v.message.contains("want 1"), "{}", v.message);

        let mut s = healthy();
        set_prom(&mut s, promql::SESSIONS, Some(170.0));
        expect(
            &eval(max_replicas, &s),
            Outcome::Warn,
            "85% of maxReplicaCount 200",
        );

        let mut s = healthy();
        so_mut(&mut s).max_replicas = None;
        set_prom(&mut s, promql::SESSIONS, Some(130.4));
        set_prom(&mut s, promql::RUNNING_PODS, Some(100.0));
        let v = eval(max_replicas, &s);
        expect(
            &v,
            Outcome::Fail,
            "capped: 130.4 sessions want 131 pods but maxReplicaCount is 100",
        );
        assert!(v.evidence[0].contains("KEDA default 100"));

        // Pods from the pod list when Prometheus has no running-pods answer.
        s.prometheus.remove(promql::RUNNING_PODS);
        expect(
            &eval(max_replicas, &s),
            Outcome::Warn,
            "131% of maxReplicaCount 100",
        );

        let mut s = healthy();
        set_prom(&mut s, promql::SESSIONS, None);
        expect(&eval(max_replicas, &s), Outcome::Skip, "sessions unknown");
    }
}
