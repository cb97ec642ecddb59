//! `keda.scaledobject`: ScaledObject exists and targets the Deployment. The check's docs, its evaluation and its
//! unit tests.

use super::*;

pub static CHECK: Check = Check {
    id: CheckId::KedaScaledobject,
    title: "ScaledObject exists and targets the Deployment",
    runbook: "Quick Health Checks §2",
    needs: &[CheckId::KedaInstalled],
    reads: "scaledObject (scaleTargetRef), deployment, scaleTarget, gaps[scaledobject], gaps[deployment], gaps[statefulset]",
    docs: Docs {
        what: "The ScaledObject exists, its scaleTargetRef is kind Deployment with the configured name (when the deployment setting is not given, the Deployment it names is the one checked), and that Deployment exists. A StatefulSet (when the deployment setting is not given) is followed the same way: its spec.selector gives the pods, its name their <name>-<ordinal> names, and the check passes saying what is not read for it (its replica and ready counts, rollout); it warns when its podManagementPolicy is OrderedReady (pods start one at a time, each after the previous is Ready) and KEDA may ask for more than one pod. Another kind (an Argo Rollout, a custom resource with /scale) is not followed: a warning until the selector and deployment settings point at its pods.",
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

/// KEDA scales a StatefulSet, an Argo Rollout or another workload. A
/// StatefulSet the collect step followed (its selector, its pods'
/// `<name>-<ordinal>` names) is checked as far as the plugin reads it, and
/// says what it does not read. Any other workload is not followed: a warning
/// whose fix points the plugin at its pods.
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
    let look = format!(
        "kubectl get {} {} -n {} -o jsonpath={{.spec.selector}}",
        shell_arg(&resource),
        shell_arg(&so.target_name),
        ctx.ns()
    );
    let name = &so.target_name;
    let selector = &ctx.settings.selector;
    let followed = matches!(
        &ctx.settings.pod_names,
        crate::settings::PodNames::StatefulSet(n) if n == name
    );
    if kind == "StatefulSet" && group.is_none() && followed {
        return statefulset(ctx, so, evidence);
    }
    let deployment = &ctx.settings.deployment;
    if kind == "StatefulSet" && group.is_none() && ctx.settings.is_set("deployment") {
        // Not followed: the user named the Deployment.
        return Verdict::warn(format!(
            "KEDA scales StatefulSet {name}, but the deployment setting makes the plugin read Deployment {deployment}: pod checks count the pods labelled {selector}, and Prometheus the pods named {deployment}-<hash>-<suffix>"
        ))
        .evidence(evidence)
        .fix(format!(
            "unset the deployment setting (--deployment, SPICE_DEPLOYMENT or deployment: in the config file) so the plugin follows StatefulSet {name} (its spec.selector and its pods {name}-<ordinal>)"
        ))
        .command(look);
    }
    // The user pointed the plugin at the workload's pods: nothing is left to do.
    if deployment == name && ctx.settings.is_set("deployment") && ctx.settings.is_set("selector") {
        return Verdict::pass(format!(
            "ScaledObject {} targets {kind} {name}, not followed: pods counted by the settings, labelled {selector} and named {name}-<hash>-<suffix>",
            so.name
        ))
        .evidence(evidence)
        .evidence(format!(
            "not read: the {kind} itself (its replica and ready counts, its rollout)"
        ));
    }
    Verdict::warn(format!(
        "KEDA scales {kind} {name}, which the plugin does not follow: pod checks count the pods labelled {selector}, and Prometheus the pods named {deployment}-<hash>-<suffix>"
    ))
    .evidence(evidence)
    .fix(format!(
        "point the plugin at the {kind}'s pods: set the selector setting (--selector, SPICE_SELECTOR or selector: in the config file) to its spec.selector (the command prints it), and the deployment setting (--deployment) to {name} if its pods are named {name}-<hash>-<suffix> (an Argo Rollout's are: its ReplicaSets name them as a Deployment's do)"
    ))
    .command(look)
}

/// A StatefulSet the collect step followed: its selector gave the pods
/// (unless `selector` was set) and its name their `<name>-<ordinal>` names.
/// The Deployment read (replicas, ready) has no StatefulSet counterpart
/// here, which the evidence says.
fn statefulset(ctx: &Ctx, so: &ScaledObjectInfo, evidence: String) -> Verdict {
    let (name, ns) = (&so.target_name, ctx.ns());
    let target = ctx
        .snap
        .scale_target
        .as_ref()
        .filter(|t| t.kind == "StatefulSet" && t.name == *name);
    if target.is_some_and(|t| t.missing) {
        return Verdict::fail(format!(
            "ScaledObject {} targets StatefulSet {name}, which does not exist in namespace {ns}",
            so.name
        ))
        .evidence(evidence)
        .evidence("KEDA reports this as ScaledObjectCheckFailed: \"Target resource doesn't exist\"")
        .fix("deploy the game's StatefulSet, or point spec.scaleTargetRef at the workload that exists")
        .command(format!("kubectl get statefulsets,deployments -n {ns}"));
    }
    if let Some(v) = ctx.gap_verdict("statefulset") {
        return Verdict {
            message: format!(
                "ScaledObject {} targets StatefulSet {name}, but the StatefulSet could not be read: {}",
                so.name, v.message
            ),
            ..v
        }
        .evidence(evidence);
    }
    let selector = &ctx.settings.selector;
    let policy = target.and_then(|t| t.pod_management_policy.as_deref());
    // KEDA's maxReplicaCount defaults to 100: more than one pod at a time.
    let many = so.max_replicas.unwrap_or(100) > 1;
    if policy == Some("OrderedReady") && many {
        return Verdict::warn(format!(
            "StatefulSet {name} has podManagementPolicy OrderedReady: its pods start one at a time, each only after the one before is Running and Ready, so a rise of N sessions waits N pod start-ups"
        ))
        .evidence(evidence)
        .evidence("the StatefulSet controller creates the next ordinal only when every pod before it is Running and Ready under OrderedReady (kubernetes pkg/controller/statefulset/stateful_set_control.go); Parallel creates them all at once, as a Deployment does")
        .evidence(format!(
            "maxReplicaCount {}: KEDA and the HPA may ask for several pods at once",
            so.max_replicas.map_or("100 (KEDA's default)".to_string(), |m| m.to_string())
        ))
        .fix(format!(
            "use podManagementPolicy: Parallel. It cannot be changed on an existing StatefulSet (the field is immutable): delete the StatefulSet keeping its pods (kubectl delete statefulset {} -n {ns} --cascade=orphan) and apply it again with Parallel; the new one adopts the pods",
            shell_arg(name)
        ))
        .command(format!(
            "kubectl get statefulset {} -n {ns} -o jsonpath={{.spec.podManagementPolicy}}",
            shell_arg(name)
        ));
    }
    let from = match target.and_then(|t| t.selector.as_deref()) {
        Some(_) => "its spec.selector",
        None if ctx.settings.is_set("selector") => "the selector setting",
        None => "the selector setting's default: its spec.selector was not usable",
    };
    let (policy_read, policy_note) = match policy {
        Some(p) => (
            format!(", podManagementPolicy {p}"),
            match p {
                "Parallel" => {
                    "podManagementPolicy Parallel: its pods start all at once, as a Deployment's do"
                }
                _ => {
                    "podManagementPolicy OrderedReady starts pods one at a time, each after the previous is Running and Ready; with maxReplicaCount 1 only one is ever asked for"
                }
            },
        ),
        None => (
            String::new(),
            "Its podManagementPolicy is not read: OrderedReady, the default, starts pods one at a time, each after the previous is Ready (Parallel does not)",
        ),
    };
    let not_read = if policy.is_some() {
        "its replica and ready counts"
    } else {
        "its replica and ready counts, its podManagementPolicy"
    };
    Verdict::pass(format!(
        "ScaledObject {} targets StatefulSet {name}, followed: pods labelled {selector}, named {name}-<ordinal>{policy_read}; not read for a StatefulSet: {not_read}",
        so.name
    ))
    .evidence(evidence)
    .evidence(format!("the pods' selector is {from}; Prometheus counts the pods named {name}-<ordinal> (kube-state-metrics has no labels to select by)"))
    .evidence("for a Deployment this check reports its replica and ready counts; for a StatefulSet the HPA's current replicas (hpa.exists) and the pod checks stand in")
    .evidence(policy_note)
    .command(format!(
        "kubectl get statefulset {} -n {ns} -o wide",
        shell_arg(name)
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
        so_mut(&mut s).target_kind = None;
        expect(&eval(scaled_object_check, &s), Outcome::Pass, "Deployment");
    }

    /// The settings with `keys` given by flags.
    fn given(keys: &[(&str, &str)]) -> crate::settings::Settings {
        let mut settings = crate::settings::Settings::defaults();
        for (key, value) in keys {
            match *key {
                "deployment" => settings.deployment = value.to_string(),
                "selector" => settings.selector = value.to_string(),
                _ => unreachable!("{key}"),
            }
            for e in settings.effective.iter_mut().filter(|e| e.key == *key) {
                e.source = crate::settings::Source::Flag(format!("--{key}"));
            }
        }
        settings
    }

    /// A StatefulSet the collect step followed is no warning on a healthy
    /// cluster: the check passes, naming the pods counted and what is not
    /// read for a StatefulSet (a Deployment's replica and ready counts).
    #[test]
    fn a_followed_statefulset_target_passes_saying_what_was_followed_and_what_is_not_read() {
        let (s, settings) = statefulset_target();
        let v = eval_with(scaled_object_check, &s, &settings);
        expect(
            &v,
            Outcome::Pass,
            "ScaledObject spice-runner-keda targets StatefulSet spice-runner, followed: pods labelled app=spice-runner, named spice-runner-<ordinal>, podManagementPolicy Parallel; not read for a StatefulSet: its replica and ready counts",
        );
        assert!(v.fix.is_none(), "{v:#?}");
        assert!(
            v.evidence.iter().any(|e| e.contains("its spec.selector")),
            "{v:#?}"
        );
        assert_eq!(
            v.command.as_deref(),
            Some("kubectl get statefulset spice-runner -n default -o wide")
        );
    }

    /// OrderedReady starts a StatefulSet's pods one at a time: a warning
    /// whose fix says the field cannot be changed in place, unless KEDA
    /// never asks for more than one pod; an unread policy is said unread.
    #[test]
    fn an_ordered_ready_statefulset_warns_that_a_rise_waits_one_start_up_per_pod() {
        let (mut s, settings) = statefulset_target();
        if let Some(t) = s.scale_target.as_mut() {
            t.pod_management_policy = Some("OrderedReady".into());
        }
        let v = eval_with(scaled_object_check, &s, &settings);
        expect(
            &v,
            Outcome::Warn,
            "StatefulSet spice-runner has podManagementPolicy OrderedReady: its pods start one at a time, each only after the one before is Running and Ready, so a rise of N sessions waits N pod start-ups",
        );
        let fix = v.fix.as_deref().unwrap_or_default();
        assert!(
            fix.contains("podManagementPolicy: Parallel")
                && fix.contains("cannot be changed on an existing StatefulSet")
                && fix.contains("--cascade=orphan"),
            "{fix}"
        );
        assert!(
            v.evidence
                .iter()
                .any(|e| e.contains("stateful_set_control.go")),
            "{v:#?}"
        );

        // maxReplicaCount 1: one pod at most, nothing to wait for.
        let mut one = s.clone();
        if let Some(Lookup::Found(so)) = one.scaled_object.as_mut() {
            so.max_replicas = Some(1);
        }
        let v = eval_with(scaled_object_check, &one, &settings);
        expect(&v, Outcome::Pass, "podManagementPolicy OrderedReady;");

        // Not read (a snapshot from before it was): said so, no warning.
        if let Some(t) = s.scale_target.as_mut() {
            t.pod_management_policy = None;
        }
        let v = eval_with(scaled_object_check, &s, &settings);
        expect(
            &v,
            Outcome::Pass,
            "not read for a StatefulSet: its replica and ready counts, its podManagementPolicy",
        );
    }

    #[test]
    fn a_statefulset_target_that_does_not_exist_fails_and_one_that_could_not_be_read_is_an_error() {
        let (mut s, settings) = statefulset_target();
        if let Some(t) = s.scale_target.as_mut() {
            t.missing = true;
            t.selector = None;
        }
        let v = eval_with(scaled_object_check, &s, &settings);
        expect(
            &v,
            Outcome::Fail,
            "targets StatefulSet spice-runner, which does not exist in namespace default",
        );

        let (mut s, settings) = statefulset_target();
        if let Some(t) = s.scale_target.as_mut() {
            t.selector = None;
        }
        gap(
            &mut s,
            "statefulset",
            GapReason::Forbidden,
            "statefulsets.apps \"spice-runner\" is forbidden",
        );
        let v = eval_with(scaled_object_check, &s, &settings);
        expect(
            &v,
            Outcome::Error,
            "targets StatefulSet spice-runner, but the StatefulSet could not be read: could not read statefulset",
        );
        assert_eq!(v.unread, Some("statefulset"));
        assert_eq!(v.fix.as_deref(), Some("the hint"));
    }

    /// No warning says "nothing to change": each one names the setting that
    /// makes the plugin count the workload's pods.
    #[test]
    fn a_target_the_plugin_does_not_follow_warns_with_the_settings_that_point_it_at_the_pods() {
        // A StatefulSet, not followed because the user named the Deployment.
        let mut s = healthy();
        so_mut(&mut s).target_kind = Some("StatefulSet".into());
        let v = eval_with(
            scaled_object_check,
            &s,
            &given(&[("deployment", "spice-runner")]),
        );
        expect(
            &v,
            Outcome::Warn,
            "KEDA scales StatefulSet spice-runner, but the deployment setting makes the plugin read Deployment spice-runner",
        );
        assert!(
            v.fix
                .as_deref()
                .is_some_and(|f| f.starts_with("unset the deployment setting")),
            "{v:#?}"
        );
        assert_eq!(
            v.command.as_deref(),
            Some("kubectl get statefulset spice-runner -n default -o jsonpath={.spec.selector}")
        );

        // An Argo Rollout: never followed.
        let mut s = healthy();
        so_mut(&mut s).target_kind = Some("Rollout".into());
        so_mut(&mut s).target_api_version = Some("argoproj.io/v1alpha1".into());
        let v = eval(scaled_object_check, &s);
        expect(
            &v,
            Outcome::Warn,
            "KEDA scales Rollout spice-runner, which the plugin does not follow: pod checks count the pods labelled app=spice-runner",
        );
        let fix = v.fix.clone().unwrap_or_default();
        assert!(
            fix.contains("set the selector setting (--selector")
                && fix.contains("the deployment setting (--deployment) to spice-runner"),
            "{fix}"
        );
        assert!(
            v.command
                .as_deref()
                .is_some_and(|c| c.starts_with("kubectl get rollout.argoproj.io spice-runner")),
            "{v:#?}"
        );
        // Both settings given: the plugin counts its pods; nothing is left to do.
        let settings = given(&[
            ("deployment", "spice-runner"),
            ("selector", "app=spice-runner"),
        ]);
        expect(
            &eval_with(scaled_object_check, &s, &settings),
            Outcome::Pass,
            "targets Rollout spice-runner, not followed: pods counted by the settings",
        );

        for kind in ["StatefulSet", "Rollout", "CloneSet"] {
            let mut s = healthy();
            so_mut(&mut s).target_kind = Some(kind.into());
            let v = eval(scaled_object_check, &s);
            assert!(
                !v.fix
                    .as_deref()
                    .unwrap_or_default()
                    .contains("nothing to change"),
                "{kind}: {v:#?}"
            );
        }
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
