//! Checks of the hpa area: the HorizontalPodAutoscaler KEDA creates for the
//! ScaledObject (`keda-hpa-<scaledobject>` unless renamed). KEDA only does
//! 0↔1; everything between 1 and max is this HPA's decision, taken from the
//! external metric `s0-prometheus` that KEDA's metrics server serves.

use super::pods::{age, events_for, quote_event, with_evidence};
use super::{Check, CheckId, Ctx, Docs, Verdict};
use crate::report::num;
use crate::snapshot::{Condition, HpaInfo, HpaMetric, Lookup, condition};

pub static CHECKS: &[Check] = &[
    Check {
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
    },
    Check {
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
    },
    Check {
        id: CheckId::HpaMetric,
        title: "HPA sees the metric",
        runbook: "Quick Health Checks §3",
        needs: &[CheckId::HpaExists],
        reads: "hpas (spec.metrics, status.currentMetrics), events (HorizontalPodAutoscaler), \
                scaledObject (status.externalMetricNames)",
        docs: Docs {
            what: "Compares the external metric's current value with its target, as `kubectl get \
                   hpa` shows it (s0-prometheus 1/1 (avg)), and looks for the HPA's \
                   FailedGetExternalMetric and FailedComputeMetricsReplicas events.",
            why: "An <unknown> current value with pods running means the HPA cannot read the \
                  metric from KEDA and is frozen at its last size. For an AverageValue target \
                  the HPA shows ceil(metric / replicas), so with threshold 1 the value should \
                  stay near 1 per pod; far from it, pods and sessions disagree.",
            fix: "For a missing metric, query KEDA's metrics server directly (kubectl get --raw \
                  /apis/external.metrics.k8s.io/v1beta1/namespaces/NS/s0-prometheus?labelSelector=...) \
                  and check keda.trigger and keda.operator-logs. For a value far from the target, \
                  see hpa.conditions (ScalingLimited) and the trigger's threshold (\"1\" for one \
                  pod per session).",
        },
        source: file!(),
        eval: metric,
    },
];

/// The HPA is usually the runbook's `kubectl get hpa`; its describe shows
/// conditions, metrics and events together.
fn describe(ctx: &Ctx, hpa: &str) -> String {
    format!("kubectl describe hpa {hpa} -n {}", ctx.ns())
}

/// KEDA's HPA, or the verdict to return when it cannot be judged.
fn keda_hpa<'a>(ctx: &Ctx<'a>) -> Result<&'a HpaInfo, Verdict> {
    let Some(hpas) = &ctx.snap.hpas else {
        return Err(ctx.not_read("hpa", "HorizontalPodAutoscalers"));
    };
    let name = ctx.snap.keda_hpa_name(&ctx.settings.scaled_object);
    hpas.iter()
        .find(|h| h.name == name)
        .ok_or_else(|| Verdict::skip(format!("no HPA {name} to look at (see hpa.exists)")))
}

fn paused(ctx: &Ctx) -> bool {
    matches!(&ctx.snap.scaled_object, Some(Lookup::Found(so)) if so.paused())
}

fn exists(ctx: &Ctx) -> Verdict {
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

/// `Reason: message` of a condition, for one-line messages.
fn quoted(c: &Condition) -> String {
    let reason = c.reason.as_deref().unwrap_or("no reason");
    match c.message.as_deref().filter(|m| !m.is_empty()) {
        Some(m) => format!("{reason}: {m}"),
        None => reason.to_string(),
    }
}

fn conditions(ctx: &Ctx) -> Verdict {
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
                "The HPA cannot write the replica count of Deployment {}: the error after the \
                 reason names what refused it (an admission webhook, a quota, RBAC).",
                ctx.settings.deployment
            ),
            _ => format!(
                "The HPA cannot read the scale of its target: check that Deployment {} exists \
                 and that ScaledObject {so}'s scaleTargetRef names it.",
                ctx.settings.deployment
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
                    "The HPA saw Deployment {} at 0 replicas while it reports {replicas}: right \
                     after KEDA activates 0→1 this clears within a sync (15 s); if it persists, \
                     something else (kubectl scale, a GitOps tool) keeps setting the Deployment \
                     to 0.",
                    ctx.settings.deployment
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
    super::worst_first(&mut findings, |v| v.outcome);
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

/// A Kubernetes quantity ("1", "500m", "2500m", "1k", "1Ki", "1e3") as a number.
pub(super) fn parse_quantity(q: &str) -> Option<f64> {
    let q = q.trim();
    if let Ok(v) = q.parse::<f64>() {
        return v.is_finite().then_some(v);
    }
    const SUFFIXES: &[(&str, f64)] = &[
        ("Ki", 1024.0),
        ("Mi", 1_048_576.0),
        ("Gi", 1_073_741_824.0),
        ("Ti", 1_099_511_627_776.0),
        ("Pi", 1_125_899_906_842_624.0),
        ("Ei", 1_152_921_504_606_846_976.0),
        ("n", 1e-9),
        ("u", 1e-6),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    SUFFIXES.iter().find_map(|(suffix, factor)| {
        let n: f64 = q.strip_suffix(suffix)?.parse().ok()?;
        n.is_finite().then_some(n * factor)
    })
}

/// The external metric KEDA's trigger feeds: by the ScaledObject's metric
/// names, else the first External metric.
fn keda_metric<'a>(ctx: &Ctx, hpa: &'a HpaInfo) -> Option<&'a HpaMetric> {
    let names: Vec<&str> = match &ctx.snap.scaled_object {
        Some(Lookup::Found(so)) => so
            .external_metric_names
            .iter()
            .map(|s| s.as_str())
            .collect(),
        _ => Vec::new(),
    };
    hpa.metrics
        .iter()
        .find(|m| m.type_ == "External" && names.contains(&m.name.as_str()))
        .or_else(|| {
            hpa.metrics
                .iter()
                .find(|m| m.type_ == "External" && m.name.ends_with("-prometheus"))
        })
        .or_else(|| hpa.metrics.iter().find(|m| m.type_ == "External"))
}

/// How `kubectl get hpa` prints a metric: `s0-prometheus 1/1 (avg)`.
fn show(m: &HpaMetric) -> String {
    let avg = if m.target_type.as_deref() == Some("AverageValue") {
        " (avg)"
    } else {
        ""
    };
    format!(
        "{} {}/{}{avg}",
        m.name,
        m.current.as_deref().unwrap_or("<unknown>"),
        m.target.as_deref().unwrap_or("<unknown>")
    )
}

/// Metric failures older than this are history, not the current state.
const RECENT_EVENT_SECS: i64 = 300;

fn metric(ctx: &Ctx) -> Verdict {
    let hpa = match keda_hpa(ctx) {
        Ok(h) => h,
        Err(v) => return v,
    };
    let ns = ctx.ns();
    let so = &ctx.settings.scaled_object;
    let cmd = describe(ctx, &hpa.name);
    let Some(m) = keda_metric(ctx, hpa) else {
        let names: Vec<String> = hpa
            .metrics
            .iter()
            .map(|m| format!("{} {}", m.type_, m.name))
            .collect();
        return Verdict::fail(format!(
            "HPA {} has no External metric: it does not scale on KEDA's trigger",
            hpa.name
        ))
        .evidence(if names.is_empty() {
            "spec.metrics is empty".to_string()
        } else {
            format!("spec.metrics: {}", names.join(", "))
        })
        .fix(format!(
            "KEDA writes the External metric s0-prometheus into the HPA it owns; an HPA without it \
             was not made by KEDA for ScaledObject {so} (see hpa.exists) or the ScaledObject has \
             no working prometheus trigger (see keda.trigger)."
        ))
        .command(cmd);
    };
    let replicas = hpa.current_replicas.unwrap_or(0);

    // The HPA's own complaints about the metric.
    let mut recent = Vec::new();
    let mut older = Vec::new();
    for e in events_for(ctx.snap, "HorizontalPodAutoscaler", &hpa.name) {
        if e.type_ != "Warning"
            || !matches!(
                e.reason.as_str(),
                "FailedGetExternalMetric" | "FailedComputeMetricsReplicas"
            )
        {
            continue;
        }
        let line = quote_event(ctx.snap, e);
        match e.last_seen.map(|t| age(ctx.snap, t)) {
            Some(a) if a > RECENT_EVENT_SECS => older.push(format!("earlier: {line}")),
            _ => recent.push(line),
        }
    }
    let events_note = ctx
        .snap
        .events
        .is_none()
        .then(|| "events were not read: the HPA's metric errors are unknown".to_string());

    let raw = format!(
        "kubectl get --raw \"/apis/external.metrics.k8s.io/v1beta1/namespaces/{ns}/{}?labelSelector=scaledobject.keda.sh%2Fname%3D{so}\"",
        m.name
    );
    let metric_fix = format!(
        "The HPA reads {} from KEDA's metrics API server: check that apiservice \
         v1beta1.external.metrics.k8s.io is Available and keda-operator-metrics-apiserver runs, \
         then the trigger's Prometheus query (keda.trigger, keda.operator-logs).",
        m.name
    );

    if !recent.is_empty() {
        let first = recent[0].clone();
        return with_evidence(
            Verdict::fail(format!("{} with {replicas} replicas: {first}", show(m))),
            recent.into_iter().skip(1).chain(older),
        )
        .fix(metric_fix)
        .command(cmd);
    }

    let current = m.current.as_deref().and_then(parse_quantity);
    if current.is_none() && replicas > 0 {
        return with_evidence(
            Verdict::fail(format!(
                "{} with {replicas} replicas: the HPA cannot read the metric and is frozen at its \
                 last size",
                show(m)
            )),
            older.into_iter().chain(events_note),
        )
        .fix(metric_fix)
        .command(raw);
    }
    let Some(current) = current else {
        return with_evidence(
            Verdict::pass(format!(
                "{} at 0 replicas: normal, KEDA handles 0↔1",
                show(m)
            )),
            older.into_iter().chain(events_note),
        );
    };

    let target = m.target.as_deref().and_then(parse_quantity);
    let comparable = matches!(
        m.target_type.as_deref(),
        Some("AverageValue") | Some("Value")
    );
    if let Some(target) = target.filter(|t| *t > 0.0 && comparable && replicas > 0) {
        let ratio = current / target;
        if !(0.5..=1.5).contains(&ratio) {
            let mut v = Verdict::warn(format!(
                "{} with {replicas} replicas: {}× the target",
                show(m),
                num(ratio)
            ));
            if m.target_type.as_deref() == Some("AverageValue") {
                v = v.evidence(format!(
                    "AverageValue: the HPA shows ceil(metric / replicas), so the metric is about \
                     {} × {replicas} = {} and the HPA wants about {} replicas",
                    num(current),
                    num(current * replicas as f64),
                    num((current * replicas as f64 / target).ceil())
                ));
            }
            return with_evidence(v, older.into_iter().chain(events_note))
                .fix(format!(
                    "The HPA moves toward current/target within a sync (15 s) unless something \
                     holds it: see hpa.conditions (ScalingLimited, AbleToScale) and the trigger \
                     threshold of ScaledObject {so} (\"1\" for one pod per session)."
                ))
                .command(cmd);
        }
    }
    with_evidence(
        Verdict::pass(format!("{} with {replicas} replicas", show(m))),
        older.into_iter().chain(events_note),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Outcome;
    use crate::checks::testkit::{ago, cond, eval, event, expect, gap, healthy};
    use crate::snapshot::{GapReason, PAUSED};

    fn set_cond(s: &mut crate::snapshot::Snapshot, c: Condition) {
        let hpa = &mut s.hpas.as_mut().unwrap()[0];
        hpa.conditions.retain(|x| x.type_ != c.type_);
        hpa.conditions.push(c);
    }

    #[test]
    fn healthy_passes() {
        let s = healthy();
        expect(
            &eval(exists, &s),
            Outcome::Pass,
            "keda-hpa-spice-runner-keda",
        );
        expect(&eval(conditions, &s), Outcome::Pass, "AbleToScale True");
        expect(&eval(metric, &s), Outcome::Pass, "s0-prometheus 1/1 (avg)");
    }

    #[test]
    fn exists_fails_when_missing_and_skips_when_paused() {
        let mut s = healthy();
        s.hpas = Some(vec![]);
        let v = eval(exists, &s);
        expect(&v, Outcome::Fail, "not found");
        assert_eq!(v.command.as_deref(), Some("kubectl get hpa -n default"));
        if let Some(Lookup::Found(so)) = &mut s.scaled_object {
            so.annotations.insert(PAUSED.into(), "true".into());
        }
        expect(&eval(exists, &s), Outcome::Skip, "paused");
        expect(&eval(conditions, &s), Outcome::Skip, "no HPA");
        expect(&eval(metric, &s), Outcome::Skip, "no HPA");
    }

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

    #[test]
    fn unread_hpas_are_an_error_with_the_hint() {
        let mut s = healthy();
        s.hpas = None;
        gap(&mut s, "hpa", GapReason::Forbidden, "cannot list hpa");
        for f in [exists, conditions, metric] {
            let v = eval(f, &s);
            expect(&v, Outcome::Error, "cannot list hpa");
            assert_eq!(v.fix.as_deref(), Some("the hint"));
        }
        // Without a gap the HPAs were not collected (a hand-made snapshot):
        // the one not_read rule makes that a skip, never a pass.
        s.gaps.clear();
        expect(&eval(exists, &s), Outcome::Skip, "not collected");
    }

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

    #[test]
    fn unknown_metric_with_replicas_fails_and_at_zero_passes() {
        let mut s = healthy();
        s.hpas.as_mut().unwrap()[0].metrics[0].current = None;
        let v = eval(metric, &s);
        expect(
            &v,
            Outcome::Fail,
            "s0-prometheus <unknown>/1 (avg) with 3 replicas",
        );
        assert!(v.command.unwrap().starts_with("kubectl get --raw"));
        s.hpas.as_mut().unwrap()[0].current_replicas = Some(0);
        expect(&eval(metric, &s), Outcome::Pass, "at 0 replicas");
    }

    #[test]
    fn metric_failure_events_fail_and_old_ones_are_history() {
        let mut s = healthy();
        let mut e = event(
            "HorizontalPodAutoscaler",
            "keda-hpa-spice-runner-keda",
            "Warning",
            "FailedGetExternalMetric",
            "unable to get external metric default/s0-prometheus/&LabelSelector{}: unable to fetch metrics from external metrics API: the server is currently unable to handle the request",
            40,
        );
        e.count = 3;
        s.events = Some(vec![e.clone()]);
        let v = eval(metric, &s);
        expect(
            &v,
            Outcome::Fail,
            "Warning FailedGetExternalMetric (x3, 40s ago): unable to get external metric",
        );

        e.last_seen = Some(ago(1800));
        s.events = Some(vec![e]);
        let v = eval(metric, &s);
        expect(&v, Outcome::Pass, "1/1 (avg)");
        assert!(v.evidence[0].starts_with("earlier: Warning FailedGetExternalMetric"));

        // Another object's events do not count.
        s.events = Some(vec![event(
            "HorizontalPodAutoscaler",
            "other",
            "Warning",
            "FailedComputeMetricsReplicas",
            "invalid metrics (1 invalid out of 1)",
            10,
        )]);
        expect(&eval(metric, &s), Outcome::Pass, "1/1 (avg)");
    }

    #[test]
    fn metric_far_from_target_warns() {
        let mut s = healthy();
        s.hpas.as_mut().unwrap()[0].metrics[0].current = Some("2500m".into());
        let v = eval(metric, &s);
        expect(
            &v,
            Outcome::Warn,
            "s0-prometheus 2500m/1 (avg) with 3 replicas: 2.5×",
        );
        assert!(v.evidence[0].contains("about 8 replicas"), "{v:#?}");
        s.hpas.as_mut().unwrap()[0].metrics[0].current = Some("334m".into());
        expect(&eval(metric, &s), Outcome::Warn, "0.33×");
        s.hpas.as_mut().unwrap()[0].metrics[0].current = Some("1200m".into());
        expect(&eval(metric, &s), Outcome::Pass, "1200m/1");
    }

    #[test]
    fn hpa_without_external_metric_fails() {
        let mut s = healthy();
        s.hpas.as_mut().unwrap()[0].metrics.clear();
        expect(&eval(metric, &s), Outcome::Fail, "no External metric");
    }

    #[test]
    fn events_not_read_is_noted_not_failed() {
        let mut s = healthy();
        s.events = None;
        let v = eval(metric, &s);
        expect(&v, Outcome::Pass, "1/1 (avg)");
        assert!(
            v.evidence
                .iter()
                .any(|e| e.contains("events were not read"))
        );
    }

    #[test]
    fn quantities_parse() {
        assert_eq!(parse_quantity("1"), Some(1.0));
        assert_eq!(parse_quantity("500m"), Some(0.5));
        assert_eq!(parse_quantity("2k"), Some(2000.0));
        assert_eq!(parse_quantity("1Ki"), Some(1024.0));
        assert_eq!(parse_quantity("1e3"), Some(1000.0));
        assert_eq!(parse_quantity("<unknown>"), None);
    }
}
