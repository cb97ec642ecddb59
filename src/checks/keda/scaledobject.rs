//! `keda.scaledobject`: ScaledObject exists and targets the Deployment. The check's docs, its evaluation and its
//! unit tests.

use super::*;

pub static CHECK: Check = Check {
    id: CheckId::KedaScaledobject,
    title: "ScaledObject exists and targets the Deployment",
    runbook: "Quick Health Checks §2",
    needs: &[CheckId::KedaInstalled],
    reads: "scaledObject (scaleTargetRef), deployment, gaps[scaledobject], gaps[deployment]",
    docs: Docs {
        what: "The ScaledObject exists, its scaleTargetRef is kind Deployment with the configured name (when the deployment setting is not given, the Deployment it names is the one checked), and that Deployment exists. Another kind (StatefulSet, Argo Rollout) is a warning: the plugin checks Deployments.",
        why: "KEDA scales only what scaleTargetRef names; a typo there leaves the game at a fixed pod count (KEDA: \"Target resource doesn't exist\").",
        fix: "Create the ScaledObject, or set spec.scaleTargetRef to {kind: Deployment, name: <deployment>}; set the scaledObject/deployment settings if the names differ.",
    },
    source: file!(),
    eval: scaled_object_check,
};

pub(super) fn scaled_object_check(ctx: &Ctx) -> Verdict {
    let (name, ns) = (&ctx.settings.scaled_object, ctx.ns());
    let so = match &ctx.snap.scaled_object {
        Some(Lookup::Missing) if ctx.snap.namespace_missing.is_some() => {
            let elsewhere = ctx.snap.namespace_missing.as_deref().unwrap_or_default();
            let deployment = &ctx.settings.deployment;
            let (found, fix) = match elsewhere {
                [] => (
                    format!("no namespace holds a ScaledObject targeting Deployment {deployment}"),
                    "check the namespace's name (`kubectl get namespaces`) and pass it with -n"
                        .to_string(),
                ),
                [one] => (
                    format!(
                        "a ScaledObject targeting Deployment {deployment} is in namespace {one}"
                    ),
                    format!("run with -n {one}"),
                ),
                many => (
                    format!(
                        "ScaledObjects targeting Deployment {deployment} are in namespaces {}",
                        many.join(", ")
                    ),
                    format!("run with -n set to one of {}", many.join(", ")),
                ),
            };
            return Verdict::error(format!("namespace {ns} does not exist; {found}"))
                .fix(fix)
                .command("kubectl get scaledobjects -A".to_string());
        }
        Some(Lookup::Missing) => {
            return Verdict::fail(format!(
                "ScaledObject {name} not found in namespace {ns}"
            ))
            .fix(format!(
                "create the ScaledObject, or set the scaledObject setting (--scaled-object) to the name `kubectl get scaledobjects -n {ns}` lists"
            ))
            .command(format!("kubectl get scaledobjects -n {ns}"));
        }
        _ => match scaled_object(ctx) {
            Ok(so) => so,
            Err(v) => return v,
        },
    };
    let kind = so.target_kind.as_deref().unwrap_or("Deployment");
    let target = format!("{kind}/{}", so.target_name);
    let evidence = format!(
        "scaleTargetRef: apiVersion {}, kind {kind}, name {}",
        so.target_api_version
            .as_deref()
            .unwrap_or("apps/v1 (default)"),
        so.target_name
    );
    if kind != "Deployment" {
        return other_kind(ctx, so, kind, evidence);
    }
    if so.target_name != ctx.settings.deployment {
        return Verdict::fail(format!(
            "ScaledObject {name} targets {target}, not Deployment/{}",
            ctx.settings.deployment
        ))
        .evidence(evidence)
        .fix(format!(
            "set spec.scaleTargetRef to {{kind: Deployment, name: {}}}, or set the deployment setting (--deployment) if the game runs under another name",
            ctx.settings.deployment
        ))
        .command(so_jsonpath(ctx, "{.spec.scaleTargetRef}"));
    }
    match &ctx.snap.deployment {
        Some(Lookup::Found(d)) => Verdict::pass(format!(
            "ScaledObject {name} targets Deployment {} ({} replicas, {} ready)",
            d.name,
            d.replicas.map_or("?".to_string(), |r| r.to_string()),
            d.ready_replicas
        ))
        .evidence(evidence),
        Some(Lookup::Missing) => Verdict::fail(format!(
            "ScaledObject {name} targets Deployment {}, which does not exist in namespace {ns}",
            so.target_name
        ))
        .evidence(evidence)
        .evidence("KEDA reports this as ScaledObjectCheckFailed: \"Target resource doesn't exist\"")
        .fix("deploy the game's Deployment, or point spec.scaleTargetRef.name at the one that exists")
        .command(format!("kubectl get deployments -n {ns}")),
        None => {
            let v = ctx.not_read("deployment", "the Deployment was");
            Verdict {
                message: format!(
                    "ScaledObject {name} targets Deployment {}, but the Deployment could not be checked: {}",
                    so.target_name, v.message
                ),
                ..v
            }
            .evidence(evidence)
        }
    }
}

/// KEDA scales a StatefulSet, an Argo Rollout or another workload: the
/// plugin's Deployment reads do not apply, which is a limit of the plugin,
/// not a fault of the cluster. Says which pods the pod checks count.
fn other_kind(ctx: &Ctx, so: &ScaledObjectInfo, kind: &str, evidence: String) -> Verdict {
    let group = so
        .target_api_version
        .as_deref()
        .and_then(|v| v.split_once('/'))
        .map(|(g, _)| g)
        .filter(|g| *g != "apps");
    let resource = match group {
        Some(g) => format!("{}.{g}", kind.to_lowercase()),
        None => kind.to_lowercase(),
    };
    let selector = &ctx.settings.selector;
    Verdict::warn(format!(
        "KEDA scales {kind} {}: the plugin checks Deployments; pod checks use the pods labelled {selector}",
        so.target_name
    ))
    .evidence(evidence)
    .fix(format!(
        "nothing to change in the cluster; if the {kind}'s pods are not labelled {selector}, set the selector setting (--selector) to its spec.selector"
    ))
    .command(format!(
        "kubectl get {} {} -n {} -o jsonpath={{.spec.selector}}",
        shell_arg(&resource),
        shell_arg(&so.target_name),
        ctx.ns()
    ))
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;

    use crate::checks::testkit::*;
    use crate::domain::snapshot::{GapReason, Lookup};

    #[test]
    fn scaledobject_passes_when_it_targets_the_existing_deployment() {
        expect(
            &eval(scaled_object_check, &healthy()),
            Outcome::Pass,
            "targets Deployment spice-runner",
        );
    }

    #[test]
    fn scaledobject_missing_fails_with_the_list_command() {
        let mut s = healthy();
        s.scaled_object = Some(Lookup::Missing);
        let v = eval(scaled_object_check, &s);
        expect(
            &v,
            Outcome::Fail,
            "spice-runner-keda not found in namespace default",
        );
        assert_eq!(
            v.command.as_deref(),
            Some("kubectl get scaledobjects -n default")
        );
    }

    #[test]
    fn scaledobject_with_a_wrong_target_fails() {
        let mut s = healthy();
        so_mut(&mut s).target_name = "spice-runnr".into();
        expect(
            &eval(scaled_object_check, &s),
            Outcome::Fail,
            "targets Deployment/spice-runnr, not Deployment/spice-runner",
        );
        let mut s = healthy();
        so_mut(&mut s).target_kind = Some("StatefulSet".into());
        let v = eval(scaled_object_check, &s);
        expect(
            &v,
            Outcome::Warn,
            "KEDA scales StatefulSet spice-runner: the plugin checks Deployments; pod checks use the pods labelled app=spice-runner",
        );
        assert_eq!(
            v.command.as_deref(),
            Some("kubectl get statefulset spice-runner -n default -o jsonpath={.spec.selector}")
        );
        let mut s = healthy();
        so_mut(&mut s).target_kind = Some("Rollout".into());
        so_mut(&mut s).target_api_version = Some("argoproj.io/v1alpha1".into());
        let v = eval(scaled_object_check, &s);
        expect(&v, Outcome::Warn, "KEDA scales Rollout spice-runner");
        assert!(
            v.command
                .as_deref()
                .is_some_and(|c| c.starts_with("kubectl get rollout.argoproj.io spice-runner")),
            "{v:?}"
        );
        let mut s = healthy();
        so_mut(&mut s).target_kind = None;
        expect(&eval(scaled_object_check, &s), Outcome::Pass, "Deployment");
    }

    #[test]
    fn scaledobject_fails_when_the_deployment_does_not_exist() {
        let mut s = healthy();
        s.deployment = Some(Lookup::Missing);
        let v = eval(scaled_object_check, &s);
        expect(&v, Outcome::Fail, "does not exist");
        assert_eq!(
            v.command.as_deref(),
            Some("kubectl get deployments -n default")
        );
    }

    #[test]
    fn scaledobject_read_failures_are_errors_or_skips_never_fails() {
        let mut s = healthy();
        s.scaled_object = None;
        gap(
            &mut s,
            "scaledobject",
            GapReason::Forbidden,
            "scaledobjects is forbidden",
        );
        let v = eval(scaled_object_check, &s);
        expect(&v, Outcome::Error, "forbidden");
        assert_eq!(v.fix.as_deref(), Some("the hint"));

        let mut s = healthy();
        s.deployment = None;
        gap(
            &mut s,
            "deployment",
            GapReason::Forbidden,
            "deployments is forbidden",
        );
        expect(
            &eval(scaled_object_check, &s),
            Outcome::Error,
            "could not be checked",
        );

        let mut s = healthy();
        s.scaled_object = None;
        gap(
            &mut s,
            "scaledobject",
            GapReason::NotInstalled,
            "not served",
        );
        expect(
            &eval(scaled_object_check, &s),
            Outcome::Skip,
            "KEDA is not installed",
        );

        let mut s = healthy();
        s.scaled_object = None;
        expect(
            &eval(scaled_object_check, &s),
            Outcome::Skip,
            "not collected",
        );
    }
}
