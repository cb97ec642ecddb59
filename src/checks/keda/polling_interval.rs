//! `keda.polling-interval`: pollingInterval meets the scale-up target. The check's docs, its evaluation and its
//! unit tests.

use super::*;

pub static CHECK: Check = Check {
    id: CheckId::KedaPollingInterval,
    title: "pollingInterval meets the scale-up target",
    runbook: "Scaling Too Slow, Check 2; Scaling Too Fast",
    needs: &[CheckId::KedaScaledobject],
    reads: "scaledObject.pollingInterval, nginx scrape spacing, pods (created, readySince), settings targets.scaleUp",
    docs: Docs {
        what: "Time to a first pod from zero (KEDA's loop): the measured scrape spacing (the first request must reach the [1m] rate) + pollingInterval (default 30 s), then the pods' median creation→Ready time. Above one pod the HPA decides (15 s sync + scrape spacing + rate ramp), and pollingInterval plays no part.",
        why: "The runbook wants the pod within 30 s (Test 1: Pending at 30 s, Running at 45 s); KEDA only notices a first session on its next poll. pollingInterval governs 0→1 (and the 1→0 check) only: 1→N is the HPA's own 15 s loop on KEDA's metric, so a short pollingInterval speeds up the first pod and nothing else.",
        fix: "Lower spec.pollingInterval for a faster first pod (runbook Scaling Too Slow: 5 → 3); if it loads Prometheus, raise it (Scaling Too Fast: 5 → 10 or 15). 1→N is faster only with a shorter scrape interval or a lower HPA tolerance.",
    },
    source: file!(),
    eval: polling_interval,
};

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
    let m = &ctx.figures.scaling;
    let p = m.polling_secs;
    let p_source = if so.polling_interval.is_some() {
        String::new()
    } else {
        format!(", KEDA default {KEDA_DEFAULT_POLLING_INTERVAL}")
    };
    let scrape = m.scrape_secs.ceil() as i64;
    let target = ctx.settings.targets.scale_up_seconds;
    let (start, start_source) = match median_pod_start(ctx) {
        Some((m, n)) => (m, format!("median creation→Ready of {n} pod(s)")),
        None => (
            DEFAULT_POD_START_SECS,
            "assumed, no pod with a Ready time".to_string(),
        ),
    };
    let appear = m.zero_to_one_secs();
    let ready_at = appear + start;
    let ready_limit = target + RUNBOOK_READY_ALLOWANCE_SECS as f64;
    let mut evidence = vec![
        format!("{} vs target {} s", m.zero_to_one_text(), num(target)),
        format!(
            "pod Ready ≈ {appear} s + {start} s ({start_source}) = {ready_at} s vs {} s (runbook Test 1: Pending at 30 s, Running at 45 s)",
            num(ready_limit)
        ),
        format!("{}", m.one_to_n_text()),
    ];
    if p < HPA_SYNC_SECS {
        evidence.push(format!(
            "pollingInterval {p} s speeds up the first pod only: above 1 pod the HPA syncs every {HPA_SYNC_SECS} s on its own"
        ));
    }
    let cmd = so_jsonpath(ctx, "{.spec.pollingInterval}");
    let mut issues = Vec::new();
    // The time the scrape leaves for polling. With none left, lowering
    // pollingInterval cannot meet the target: the scrape spacing dominates.
    let room = target.floor() as i64 - scrape;
    if appear as f64 > target && room < 1 {
        issues.push(Issue::warn(
            format!(
                "the {} s scale-up target cannot be met by pollingInterval: the scrape spacing ({scrape} s{}) alone leaves {} s",
                num(target),
                m.scrape_how().replacen(' ', ", ", 1),
                room.max(0)
            ),
            "shorten the metric lag (scrape the nginx exporter more often), keep spare pods (minReplicaCount, or a low-priority placeholder Deployment), or relax targets.scaleUp",
        ));
    } else if appear as f64 > target {
        issues.push(Issue::warn(
            format!(
                "0→1 ≈ {p} s pollingInterval + {scrape} s scrape spacing = {appear} s > {} s target",
                num(target)
            ),
            format!(
                "lower spec.pollingInterval to ≤ {room} s (runbook Scaling Too Slow, Check 2: 5 → 3); it governs the first pod only"
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
            "pollingInterval {p} s{p_source}: a first pod appears within ≈ {appear} s (target {} s), Ready ≈ {ready_at} s",
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
        assert!(
            v.evidence[2].starts_with("1→N (HPA): ≈ 36 s = HPA sync 15 s"),
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
            "0→1 ≈ 30 s pollingInterval + 15 s scrape spacing = 45 s > 30 s target",
        );
        assert!(v.fix.unwrap().contains("5 → 3"));
    }

    #[test]
    fn a_short_polling_interval_is_not_called_useless_it_speeds_up_the_first_pod_only() {
        let mut s = healthy();
        so_mut(&mut s).polling_interval = Some(2);
        let v = eval(polling_interval, &s);
        expect(&v, Outcome::Pass, "a first pod appears within ≈ 17 s");
        assert!(
            v.evidence
                .iter()
                .any(|e| e.contains("speeds up the first pod only")),
            "{v:#?}"
        );
        assert!(!v.message.contains("without scaling faster"), "{v:#?}");
    }

    #[test]
    fn a_target_below_the_scrape_spacing_is_out_of_polling_intervals_reach() {
        let mut s = healthy();
        so_mut(&mut s).polling_interval = Some(2);
        let mut settings = crate::settings::Settings::defaults();
        settings.targets.scale_up_seconds = 10.0;
        let v = polling_interval(&Ctx::new(&s, &settings));
        let text = format!("{} {}", v.message, v.fix.as_deref().unwrap_or(""));
        expect(&v, Outcome::Warn, "cannot be met by pollingInterval");
        assert!(text.contains("scrape spacing (15 s, assumed)"), "{v:#?}");
        assert!(!text.contains("lower spec.pollingInterval"), "{v:#?}");

        // With room for polling, lowering it is the advice.
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
    fn a_scrape_spacing_not_measured_yet_is_assumed_and_said_so_and_a_measured_one_is_used() {
        let mut s = healthy();
        so_mut(&mut s).polling_interval = Some(2);
        let mut settings = crate::settings::Settings::defaults();
        settings.targets.scale_up_seconds = 5.0;
        // Prometheus answered, but the nginx series is too young to tell.
        set_prom_samples(&mut s, promql::NGINX_SAMPLES_5M, &[]);
        let v = polling_interval(&Ctx::new(&s, &settings));
        assert!(
            v.message.contains(
                "the scrape spacing (15 s, assumed, not measured yet: fewer than 3 nginx samples in Prometheus) alone leaves 0 s"
            ),
            "{v:#?}"
        );
        // Measured at 4 s (the closed loop's scrape): 1 s is left for polling.
        set_prom(&mut s, promql::NGINX_SAMPLES_5M, Some(4.0));
        if let Some(a) = s.prometheus.get_mut(promql::NGINX_SAMPLES_5M) {
            for x in a.samples.iter_mut().flatten() {
                x.labels
                    .insert(promql::SPACING_LABEL.into(), promql::SPACING_SECONDS.into());
            }
        }
        let v = polling_interval(&Ctx::new(&s, &settings));
        expect(
            &v,
            Outcome::Warn,
            "0→1 ≈ 2 s pollingInterval + 4 s scrape spacing = 6 s > 5 s target",
        );
        assert!(
            v.evidence
                .iter()
                .any(|e| e.contains("scrape spacing 4 s measured")),
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
