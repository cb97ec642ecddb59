//! `keda.polling-interval`: pollingInterval meets the scale-up target. The check's docs, its evaluation and its
//! unit tests.

use super::*;

pub static CHECK: Check = Check {
    id: CheckId::KedaPollingInterval,
    title: "pollingInterval meets the scale-up target",
    runbook: "Scaling Too Slow, Check 2; Scaling Too Fast",
    needs: &[CheckId::KedaScaledobject],
    reads: "scaledObject.pollingInterval, pods (created, readySince), settings targets.scaleUp",
    docs: Docs {
        what: "Worst-case time to a new pod: pollingInterval (default 30 s) + ~15 s metric lag (scrape), then the pods' median creation→Ready time.",
        why: "The runbook wants the pod within 30 s (Test 1: Pending at 30 s, Running at 45 s); KEDA only notices a first session on its next poll. Below 5 s KEDA loads Prometheus without scaling faster (the HPA syncs every 15 s).",
        fix: "Lower spec.pollingInterval (runbook Scaling Too Slow: 5 → 3); if it flaps or loads Prometheus, raise it (Scaling Too Fast: 5 → 10 or 15).",
    },
    source: file!(),
    eval: polling_interval,
};

/// Prometheus scrape interval assumed for the metric lag (the usual 15 s).
const SCRAPE_LAG_SECS: i64 = 15;

/// Below this pollingInterval KEDA queries Prometheus more often without
/// scaling faster, so no advice goes lower.
const MIN_USEFUL_POLLING_SECS: i64 = 5;

/// Pod start assumed when no pod has a creation and a Ready time.
const DEFAULT_POD_START_SECS: i64 = 20;

/// Runbook Test 1: Pending at t=30 s, Running at t=45 s, so 15 s to Ready.
const RUNBOOK_READY_ALLOWANCE_SECS: i64 = 15;

fn median_pod_start(ctx: &Ctx) -> Option<(i64, usize)> {
    let mut starts: Vec<i64> = ctx
        .snap
        .pods
        .as_ref()?
        .iter()
        .filter_map(|p| {
            let d = p.ready_since?.as_second() - p.created?.as_second();
            (d >= 0).then_some(d)
        })
        .collect();
    if starts.is_empty() {
        return None;
    }
    starts.sort_unstable();
    let n = starts.len();
    let median = if n % 2 == 1 {
        starts[n / 2]
    } else {
        (starts[n / 2 - 1] + starts[n / 2]) / 2
    };
    Some((median, n))
}

pub(super) fn polling_interval(ctx: &Ctx) -> Verdict {
    let so = match scaled_object(ctx) {
        Ok(so) => so,
        Err(v) => return v,
    };
    let p = so.polling_interval_or_default();
    let p_source = if so.polling_interval.is_some() {
        String::new()
    } else {
        format!(", KEDA default {KEDA_DEFAULT_POLLING_INTERVAL}")
    };
    let target = ctx.settings.targets.scale_up_seconds;
    let (start, start_source) = match median_pod_start(ctx) {
        Some((m, n)) => (m, format!("median creation→Ready of {n} pod(s)")),
        None => (
            DEFAULT_POD_START_SECS,
            "assumed, no pod with a Ready time".to_string(),
        ),
    };
    let appear = p + SCRAPE_LAG_SECS;
    let ready_at = appear + start;
    let ready_limit = target + RUNBOOK_READY_ALLOWANCE_SECS as f64;
    let evidence = vec![
        format!(
            "pod appears ≈ {p} s (pollingInterval{p_source}) + {SCRAPE_LAG_SECS} s (scrape/rate lag) = {appear} s vs target {} s",
            num(target)
        ),
        format!(
            "pod Ready ≈ {appear} s + {start} s ({start_source}) = {ready_at} s vs {} s (runbook Test 1: Pending at 30 s, Running at 45 s)",
            num(ready_limit)
        ),
    ];
    let cmd = so_jsonpath(ctx, "{.spec.pollingInterval}");
    let mut issues = Vec::new();
    if p < MIN_USEFUL_POLLING_SECS {
        issues.push(Issue::warn(
            format!(
                "pollingInterval {p} s: KEDA queries Prometheus every {p} s without scaling faster (the HPA syncs every {HPA_SYNC_SECS} s)"
            ),
            format!("raise spec.pollingInterval to {MIN_USEFUL_POLLING_SECS} or more (runbook Scaling Too Fast: 5 → 10 or 15 if it flaps)"),
        ));
    }
    // The time the fixed lags leave for polling. Below the useful minimum,
    // "lower pollingInterval" would contradict the advice above: the target
    // is then out of pollingInterval's reach, and the message says what
    // dominates instead.
    let room = target.floor() as i64 - SCRAPE_LAG_SECS;
    if appear as f64 > target && room < MIN_USEFUL_POLLING_SECS {
        issues.push(Issue::warn(
            format!(
                "the {} s scale-up target cannot be met by pollingInterval: the {SCRAPE_LAG_SECS} s metric lag (scrape and rate window) alone leaves {} s, under the {MIN_USEFUL_POLLING_SECS} s below which polling only loads Prometheus",
                num(target),
                room.max(0)
            ),
            format!(
                "keep spec.pollingInterval at {MIN_USEFUL_POLLING_SECS} s or more; to gain time shorten the metric lag (scrape the nginx exporter more often), keep spare pods (a low-priority placeholder Deployment), or relax targets.scaleUp"
            ),
        ));
    } else if appear as f64 > target {
        issues.push(Issue::warn(
            format!(
                "worst-case scale-up ≈ {p} s pollingInterval + {SCRAPE_LAG_SECS} s metric lag = {appear} s > {} s target",
                num(target)
            ),
            format!(
                "lower spec.pollingInterval to ≤ {room} s (runbook Scaling Too Slow, Check 2: 5 → 3)"
            ),
        ));
    } else if ready_at as f64 > ready_limit {
        issues.push(Issue::warn(
            format!(
                "a new pod is Ready only after ≈ {ready_at} s ({appear} s to appear + {start} s to start) > {} s",
                num(ready_limit)
            ),
            "pod start dominates: see pods.startup (image size, readiness probe, nodes from Karpenter); pollingInterval cannot win it back",
        ));
    }
    combine(
        issues,
        format!(
            "pollingInterval {p} s{p_source}: a pod appears within ≈ {appear} s (target {} s), Ready ≈ {ready_at} s",
            num(target)
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
    fn runbook_polling_interval_passes_with_arithmetic() {
        let v = eval(polling_interval, &healthy());
        expect(&v, Outcome::Pass, "within ≈ 20 s");
        assert!(
            v.evidence[1].contains("20 s (median creation→Ready of 3 pod(s)) = 40 s"),
            "{:#?}",
            v.evidence
        );
    }

    #[test]
    fn default_polling_interval_misses_the_scale_up_target() {
        let mut s = healthy();
        so_mut(&mut s).polling_interval = None;
        let v = eval(polling_interval, &s);
        expect(
            &v,
            Outcome::Warn,
            "30 s pollingInterval + 15 s metric lag = 45 s > 30 s target",
        );
        assert!(v.fix.unwrap().contains("5 → 3"));
    }

    #[test]
    fn very_short_polling_interval_warns_about_load() {
        let mut s = healthy();
        so_mut(&mut s).polling_interval = Some(2);
        let v = eval(polling_interval, &s);
        expect(&v, Outcome::Warn, "pollingInterval 2 s");
        assert!(v.fix.unwrap().contains("10 or 15"));
    }

    #[test]
    fn a_target_below_the_metric_lag_gets_no_contradictory_polling_advice() {
        let mut s = healthy();
        so_mut(&mut s).polling_interval = Some(2);
        let mut settings = crate::settings::Settings::defaults();
        settings.targets.scale_up_seconds = 10.0;
        let v = polling_interval(&Ctx::new(&s, &settings));
        let text = format!("{} {}", v.message, v.fix.as_deref().unwrap_or(""));
        expect(&v, Outcome::Warn, "cannot be met by pollingInterval");
        assert!(text.contains("15 s metric lag"), "{v:#?}");
        assert!(text.contains("raise spec.pollingInterval to 5"), "{v:#?}");
        assert!(!text.contains("lower spec.pollingInterval"), "{v:#?}");

        // With room for a useful interval, lowering it is the advice.
        settings.targets.scale_up_seconds = 25.0;
        so_mut(&mut s).polling_interval = Some(15);
        let v = polling_interval(&Ctx::new(&s, &settings));
        assert!(
            v.fix
                .as_deref()
                .unwrap_or("")
                .contains("lower spec.pollingInterval to ≤ 10 s"),
            "{v:#?}"
        );
    }

    #[test]
    fn slow_pod_start_warns_and_missing_ready_times_assume_20s() {
        let mut s = healthy();
        for p in s.pods.as_mut().unwrap() {
            p.ready_since = Some(p.created.unwrap() + jiff::SignedDuration::from_secs(90));
        }
        expect(
            &eval(polling_interval, &s),
            Outcome::Warn,
            "Ready only after ≈ 110 s",
        );
        s.pods = Some(vec![]);
        let v = eval(polling_interval, &s);
        expect(&v, Outcome::Pass, "Ready ≈ 40 s");
        assert!(v.evidence[1].contains("assumed"));
    }
}
