//! `hpa.metric`: HPA sees the metric. The check's docs, its evaluation and its
//! unit tests.

use super::*;
use crate::checks::shell_arg;

pub static CHECK: Check = Check {
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
};

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

/// A metric as status and watch write it: `s0-prometheus 1/1 (avg)`, its
/// quantities read as numbers.
fn show(m: &HpaMetric) -> String {
    MetricValue::of(m).to_string()
}

pub(super) fn metric(ctx: &Ctx) -> Verdict {
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

    let path = format!(
        "/apis/external.metrics.k8s.io/v1beta1/namespaces/{ns}/{}?labelSelector=scaledobject.keda.sh%2Fname%3D{so}",
        m.name
    );
    let raw = format!("kubectl get --raw {}", shell_arg(&path));
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

    let value = MetricValue::of(m);
    let current = value.current;
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

    let target = value.target;
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
                // What the HPA wants comes from the scaling model (its
                // replica calculator with tolerance, the scalingModifiers
                // target, min/max), never from arithmetic here.
                let model = &ctx.figures.scaling;
                let metric = current * replicas as f64;
                let settles = model.desired(metric, true, replicas as i64);
                v = v.evidence(format!(
                    "AverageValue: the HPA shows the metric / replicas, so the metric is about \
                     {} × {replicas} = {}; the scaling model ({}, tolerance {}, {}–{} pods) wants {} {}",
                    num(current),
                    num(metric),
                    model.target.text(),
                    num(model.up.tolerance),
                    model.hpa_min(),
                    model.max,
                    model.wanted(metric, replicas as i64),
                    if settles == replicas as i64 {
                        "and holds the count".to_string()
                    } else {
                        format!("and settles at {settles}")
                    }
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
    use crate::checks::testkit::{ago, eval, event, expect, healthy};

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
            "s0-prometheus 2.5/1 (avg) with 3 replicas: 2.5×",
        );
        assert!(
            v.evidence[0].contains("the metric is about 2.5 × 3 = 7.5")
                && v.evidence[0].contains("threshold 1 (AverageValue, per pod), tolerance 0.1")
                && v.evidence[0].contains("wants 8 and settles at 8"),
            "{v:#?}"
        );
        s.hpas.as_mut().unwrap()[0].metrics[0].current = Some("334m".into());
        expect(&eval(metric, &s), Outcome::Warn, "0.33×");
        s.hpas.as_mut().unwrap()[0].metrics[0].current = Some("1200m".into());
        expect(&eval(metric, &s), Outcome::Pass, "1.2/1");
    }

    /// The wanted count is the model's: with scalingModifiers target 5 the
    /// HPA scales composite-metric 7.5 / 5 → 2 pods, not 8 by the slot's 1.
    #[test]
    fn what_the_hpa_wants_is_read_from_the_scaling_model() {
        let mut s = healthy();
        s.hpas.as_mut().unwrap()[0].metrics[0].current = Some("2500m".into());
        if let Some(crate::snapshot::Lookup::Found(so)) = s.scaled_object.as_mut() {
            so.scaling_modifiers = Some(crate::domain::snapshot::ScalingModifiersInfo {
                formula: Some("s0".into()),
                target: Some("5".into()),
                activation_target: None,
                metric_type: None,
            });
        }
        let v = eval(metric, &s);
        assert!(
            v.evidence[0].contains("scalingModifiers target 5")
                && v.evidence[0].contains("wants 2 and settles at 2"),
            "{v:#?}"
        );
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
}
