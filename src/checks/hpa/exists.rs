//! `hpa.exists`: KEDA's HPA exists. The check's docs, its evaluation and its
//! unit tests.

use super::*;

pub static CHECK: Check = Check {
    id: CheckId::HpaExists,
    title: "KEDA's HPA exists",
    runbook: "Quick Health Checks §3",
    needs: &[CheckId::KedaReady],
    reads: "hpas, scaledObject (status.hpaName, pause annotations)",
    docs: Docs {
        what: "Looks for the HPA KEDA made for the ScaledObject (status.hpaName, else \
               keda-hpa-<scaledobject>) and checks that the ScaledObject owns it.",
        why: "KEDA only scales 0↔1; the HPA takes the Deployment from 1 to N. Without it \
              the game never gets more than one pod. KEDA deletes the HPA while the \
              ScaledObject is paused, so then its absence is expected.",
        fix: "If it is missing, KEDA failed to create it: read the ScaledObject's Ready \
              condition and the operator logs (\"failed to ensure HPA is correctly created\"). \
              If another object owns it, delete the stray HPA or let KEDA adopt it with the \
              ScaledObject annotation scaledobject.keda.sh/transfer-hpa-ownership: \"true\"; \
              only one HPA may target the Deployment.",
    },
    source: file!(),
    eval: exists,
};

fn paused(ctx: &Ctx) -> bool {
    matches!(&ctx.snap.scaled_object, Some(Lookup::Found(so)) if so.paused())
}

pub(super) fn exists(ctx: &Ctx) -> Verdict {
    let Some(hpas) = &ctx.snap.hpas else {
        return ctx.not_read("hpa", "HorizontalPodAutoscalers");
    };
    let so = &ctx.settings.scaled_object;
    let name = ctx.snap.keda_hpa_name(so);
    let others: Vec<&str> = hpas
        .iter()
        .filter(|h| h.name != name)
        .map(|h| h.name.as_str())
        .collect();
    let others_line = if others.is_empty() {
        format!("no other HPA in namespace {}", ctx.ns())
    } else {
        format!(
            "other HPAs in namespace {}: {}",
            ctx.ns(),
            others.join(", ")
        )
    };
    let Some(hpa) = hpas.iter().find(|h| h.name == name) else {
        if paused(ctx) {
            return Verdict::skip(format!(
                "no HPA {name}: ScaledObject {so} is paused (KEDA deletes the HPA while paused)"
            ));
        }
        return Verdict::fail(format!(
            "HPA {name} not found in namespace {}: nothing scales the Deployment beyond 1 pod",
            ctx.ns()
        ))
        .evidence(others_line)
        .fix(format!(
            "KEDA creates {name} when it reconciles ScaledObject {so}: read its Ready condition \
             (keda.ready) and the operator logs for \"failed to ensure HPA is correctly created\"; \
             an HPA of another name targeting the Deployment blocks it."
        ))
        .command(format!("kubectl get hpa -n {}", ctx.ns()));
    };
    if !hpa.owners.iter().any(|o| o == so) {
        let owners = if hpa.owners.is_empty() {
            "no ScaledObject".to_string()
        } else {
            format!("ScaledObject {}", hpa.owners.join(", "))
        };
        return Verdict::warn(format!(
            "HPA {name} is owned by {owners}, not by ScaledObject {so}: another HPA targets the \
             Deployment?"
        ))
        .evidence(others_line)
        .fix(format!(
            "Only one HPA may target the Deployment. Delete the stray HPA so KEDA recreates it, or \
             let KEDA adopt it with the annotation scaledobject.keda.sh/transfer-hpa-ownership: \
             \"true\" on ScaledObject {so}."
        ))
        .command(format!("kubectl get hpa -n {}", ctx.ns()));
    }
    Verdict::pass(format!(
        "{name} owned by ScaledObject {so} (min {}, max {}, {} replicas)",
        hpa.min_replicas.unwrap_or(1),
        hpa.max_replicas,
        hpa.current_replicas.unwrap_or(0)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::checks::Outcome;
    use crate::checks::testkit::{eval, expect, healthy};

    #[test]
    fn exists_uses_status_hpa_name_and_the_default_name() {
        let mut s = healthy();
        if let Some(Lookup::Found(so)) = &mut s.scaled_object {
            so.hpa_name = Some("custom".into());
        }
        expect(&eval(exists, &s), Outcome::Fail, "HPA custom not found");
        s.hpas.as_mut().unwrap()[0].name = "custom".into();
        expect(&eval(exists, &s), Outcome::Pass, "custom owned");
    }

    #[test]
    fn exists_warns_on_foreign_owner() {
        let mut s = healthy();
        s.hpas.as_mut().unwrap()[0].owners.clear();
        let v = eval(exists, &s);
        expect(&v, Outcome::Warn, "another HPA targets the Deployment");
        assert!(v.fix.unwrap().contains("transfer-hpa-ownership"));
    }
}
