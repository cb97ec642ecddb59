//! `sessions.flapping`: the runbook's "Scaling Too Fast", measured: how
//! often the running-pod count changed, and changed direction, over the last
//! 30 minutes of Prometheus history. The check's docs, its evaluation and
//! its unit tests.

use super::*;
use crate::domain::flapping;

pub static CHECK: Check = Check {
    id: CheckId::SessionsFlapping,
    title: "pods do not flap",
    runbook: "Troubleshooting: Scaling Too Fast",
    needs: &[CheckId::PrometheusKubeStateMetrics],
    reads: "Prometheus running pods over the last 30 min (diagnose --symptom too-fast)",
    docs: Docs {
        what: "Counts the changes of the running-pod count over the last 30 minutes (sum of kube_pod_status_phase{phase=\"Running\"} at 15 s, draining pods left out) and how often it reversed direction. Four reversals or more is flapping.",
        why: "A pod-per-session game adds a pod when a session starts and removes one when it ends, so the count moves all the time; what the runbook calls scaling too fast is the autoscaler undoing its own decisions: up, down, up again within minutes, which kills warm pods and starts cold ones. Reversals, not changes, tell the two apart. The history is read only by `diagnose --symptom too-fast` (and `report`/`timeline`); other runs skip this check.",
        fix: "Raise the ScaledObject's pollingInterval (the runbook: 5 → 10 or 15), lengthen the HPA's scale-down stabilization (advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds) and cooldownPeriod, so a brief dip in sessions does not remove pods that are needed again a minute later.",
    },
    source: file!(),
    eval: flapping_check,
};

fn flapping_check(ctx: &Ctx) -> Verdict {
    let Some(answer) = ctx.snap.prometheus.get(promql::RUNNING_PODS_30M) else {
        return Verdict::skip(
            "the running-pod history was not read: run `kubectl spice diagnose --symptom too-fast`",
        );
    };
    let samples = match (&answer.samples, &answer.error) {
        (Some(s), None) => s,
        (_, Some(e)) => {
            return Verdict::error(format!(
                "the running-pod history could not be read: {}",
                crate::domain::text::one_line(e)
            ));
        }
        (None, None) => return Verdict::skip("no running-pod history"),
    };
    let mut points: Vec<(f64, f64)> = samples.iter().map(|s| (s.timestamp, s.value)).collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let end = ctx.snap.captured_at.as_millisecond() as f64 / 1000.0;
    let f = flapping::measure(&points, end);
    if !f.measured {
        return Verdict::skip("no running-pod history in the last 30 min");
    }
    let v = if f.flapping {
        Verdict::fail(f.line()).fix(CHECK.docs.fix)
    } else {
        Verdict::pass(f.line())
    };
    v.evidence(format!(
        "query: {} over 30 min at 15 s",
        promql::running_pods(ctx.settings).promql
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Outcome;
    use crate::checks::testkit::*;
    use crate::domain::snapshot::{PromAnswer, Sample, Snapshot};

    fn with_history(values: &[f64]) -> Snapshot {
        let mut snap = healthy();
        let end = snap.captured_at.as_millisecond() as f64 / 1000.0;
        let n = values.len() as f64;
        let samples = values
            .iter()
            .enumerate()
            .map(|(i, v)| Sample {
                labels: Default::default(),
                value: *v,
                timestamp: end - (n - 1.0 - i as f64) * 60.0,
            })
            .collect();
        snap.prometheus.insert(
            promql::RUNNING_PODS_30M.into(),
            PromAnswer {
                query: String::new(),
                samples: Some(samples),
                error: None,
            },
        );
        snap
    }

    #[test]
    fn pods_going_up_and_down_every_few_minutes_fail_with_the_polling_fix() {
        let snap = with_history(&[3.0, 5.0, 3.0, 5.0, 3.0, 5.0, 3.0]);
        let v = eval(flapping_check, &snap);
        expect(&v, Outcome::Fail, "5 direction reversals");
        assert!(
            v.fix
                .as_deref()
                .is_some_and(|x| x.contains("pollingInterval"))
        );
    }

    #[test]
    fn a_steady_count_passes_and_no_history_skips() {
        let v = eval(flapping_check, &with_history(&[3.0, 3.0, 4.0, 4.0]));
        expect(&v, Outcome::Pass, "no flapping: 1 replica changes");
        let mut none = healthy();
        none.prometheus.remove(promql::RUNNING_PODS_30M);
        expect(
            &eval(flapping_check, &none),
            Outcome::Skip,
            "--symptom too-fast",
        );
    }
}
