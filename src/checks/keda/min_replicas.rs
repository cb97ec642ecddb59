//! `keda.min-replicas`: minReplicaCount allows scale to zero. The check's docs, its evaluation and its
//! unit tests.

use super::*;

pub static CHECK: Check = Check {
    id: CheckId::KedaMinReplicas,
    title: "minReplicaCount allows scale to zero",
    runbook: "Quick Validation Checklist (minReplicaCount=0)",
    needs: &[CheckId::KedaScaledobject],
    reads: "scaledObject.minReplicaCount, scaledObject.idleReplicaCount",
    docs: Docs {
        what: "minReplicaCount (KEDA default 0) and idleReplicaCount.",
        why: "The runbook expects 0 pods with 0 sessions; minReplicaCount > 0 keeps pods without sessions, so the sessions/pod ratio reads low when idle.",
        fix: "Set spec.minReplicaCount: 0 unless warm pods are intended.",
    },
    source: file!(),
    eval: min_replicas,
};

pub(super) fn min_replicas(ctx: &Ctx) -> Verdict {
    let so = match scaled_object(ctx) {
        Ok(so) => so,
        Err(v) => return v,
    };
    let min = so.min_replicas_or_default();
    let source = if so.min_replicas.is_some() {
        ""
    } else {
        " (KEDA default)"
    };
    let mut v = if min <= 0 {
        Verdict::pass(format!(
            "minReplicaCount {min}{source}: scales to zero without sessions"
        ))
    } else {
        Verdict::warn(format!(
            "minReplicaCount {min}: {min} pod(s) run without sessions by design, so the sessions/pod ratio reads low when idle"
        ))
        .fix("set spec.minReplicaCount: 0 unless warm pods are intended (the runbook expects 0 pods at 0 sessions)")
        .command(so_jsonpath(ctx, "{.spec.minReplicaCount}"))
    };
    if let Some(idle) = so.idle_replicas {
        v = v.evidence(format!(
            "idleReplicaCount {idle}: KEDA parks the Deployment at {idle} while inactive and jumps to minReplicaCount {min} when active (only 0 is supported; it must be below minReplicaCount)"
        ));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;

    use crate::checks::testkit::*;

    #[test]
    fn min_replicas_outcomes() {
        expect(
            &eval(min_replicas, &healthy()),
            Outcome::Pass,
            "minReplicaCount 0",
        );
        let mut s = healthy();
        so_mut(&mut s).min_replicas = None;
        expect(&eval(min_replicas, &s), Outcome::Pass, "KEDA default");
        so_mut(&mut s).min_replicas = Some(2);
        so_mut(&mut s).idle_replicas = Some(0);
        let v = eval(min_replicas, &s);
        expect(&v, Outcome::Warn, "minReplicaCount 2");
        assert!(v.evidence[0].contains("idleReplicaCount 0"));
    }
}
