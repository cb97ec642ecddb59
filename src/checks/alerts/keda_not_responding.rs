//! `alerts.keda-not-responding`: KEDANotResponding. The check's docs, its evaluation and its
//! unit tests.

use super::*;

pub static CHECK: Check = Check {
    id: CheckId::AlertsKedaNotResponding,
    title: "KEDANotResponding",
    runbook: "Alert Rules: KEDANotResponding",
    needs: &[
        CheckId::PrometheusNginxMetric,
        CheckId::PrometheusKubeStateMetrics,
    ],
    reads: "Prometheus changes(kube_deployment_status_replicas[10m]) == 0 and on() request rate > 5, now and over 10 min; loaded alert rules",
    docs: Docs {
        what: "The runbook's KEDANotResponding (no replica change in 10 min while over 5 req/s, for 10m), evaluated with `and on()`; and any loaded rule with the runbook's bare `and`.",
        why: "`and` matches on all labels; the two sides share none, so the runbook's rule matches no series and can never fire. The alert also holds at steady load, when pods already match sessions.",
        fix: "Use `(changes(kube_deployment_status_replicas{...}[10m]) == 0) and on() (sum(rate(nginx_http_requests_total{...}[5m])) > 5)`. When it fires with pods not matching sessions, follow keda.* and hpa.*.",
    },
    source: file!(),
    eval: keda_not_responding,
};

/// Points of the 1 m subquery over 10 min that make `for: 10m`.
const KEDA_POINTS: f64 = 10.0;

/// Whether a PromQL expression has an `and` with neither `on(...)` nor
/// `ignoring(...)`, which matches on all labels.
fn bare_and(query: &str) -> bool {
    let q = query.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = q[from..].find("and") {
        let at = from + i;
        from = at + 3;
        let before = q[..at].chars().next_back();
        let after = &q[at + 3..];
        let is_operator = before.is_none_or(|c| c.is_whitespace() || c == ')')
            && after.starts_with(|c: char| c.is_whitespace() || c == '(');
        if !is_operator {
            continue;
        }
        let rest = after.trim_start();
        let matched = ["on", "ignoring"].iter().any(|kw| {
            rest.strip_prefix(kw)
                .is_some_and(|r| r.trim_start().starts_with('('))
        });
        if !matched {
            return true;
        }
    }
    false
}

fn never_fires(r: &RuleInfo) -> bool {
    compact(&r.query).contains("changes(kube_deployment_status_replicas") && bare_and(&r.query)
}

pub(super) fn keda_not_responding(ctx: &Ctx) -> Verdict {
    let now = match samples(ctx, promql::ALERT_KEDA_NOW) {
        Ok(s) => s,
        Err(v) => return v,
    };
    let expr = promql::keda_not_responding_expr(ctx.settings);
    let held = value(ctx, promql::ALERT_KEDA_FOR)
        .ok()
        .flatten()
        .unwrap_or(0.0);
    let rate = sessions_now(ctx).ok();
    let v = if now.is_empty() {
        Verdict::pass(
            "KEDANotResponding ok: replicas changed in the last 10 min, or requests are at most 5/s",
        )
    } else {
        let rate_text = rate.map_or_else(|| "over 5".to_string(), num);
        let state = if held >= KEDA_POINTS {
            format!("firing: {rate_text} req/s and no replica change for 10 min")
        } else {
            format!(
                "pending: {rate_text} req/s and no replica change, held at {} of {} points in 10 min",
                num(held),
                num(KEDA_POINTS)
            )
        };
        let running = running_pods(ctx).ok();
        let (per_pod, b) = band(rate, running, &ctx.settings.bands, &ctx.figures.idle);
        match (b, per_pod, running) {
            // Pods already match sessions: nothing needed to scale.
            (Band::Green, Some(r), Some(pods)) => Verdict::warn(format!(
                "KEDANotResponding {state}, but pods match sessions ({} / {} = {r:.2}): the alert fires at steady load",
                rate_text,
                num(pods)
            ))
            .fix("the alert cannot tell steady load from a stuck KEDA: alert on PodSessionRatioAnomaly, or on the KEDA HPA's desired vs current replicas, instead")
            .command(query_command(ctx.settings, &expr)),
            _ if held >= KEDA_POINTS => Verdict::fail(format!("KEDANotResponding {state}"))
                .fix("KEDA or the HPA does not act on the load: follow keda.ready, keda.active, keda.operator-logs and hpa.metric")
                .command(query_command(ctx.settings, &expr)),
            _ => Verdict::warn(format!("KEDANotResponding {state}"))
                .fix("no scaling under load so far: it fires if this lasts 10 min; see keda.active and hpa.metric")
                .command(query_command(ctx.settings, &expr)),
        }
    };
    let v = v.evidence(format!("corrected expression: {expr}, for: 10m"));
    let (rules, unread) = flawed_rules(ctx, never_fires);
    let v = match unread {
        Some(line) => v.evidence(line),
        None => v,
    };
    with_rules(
        ctx,
        v,
        &rules,
        "can never fire: `and` without on() matches no series (the two sides share no labels)",
        format!("use `and on()`: {expr}"),
    )
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;

    use crate::checks::testkit::*;
    use crate::domain::snapshot::GapReason;

    #[test]
    fn keda_ok() {
        expect(
            &eval(keda_not_responding, &healthy()),
            Outcome::Pass,
            "KEDANotResponding ok",
        );
    }

    #[test]
    fn keda_firing_when_pods_do_not_follow() {
        let v = eval(keda_not_responding, &keda_holds(12.0, 3.0, 10.0));
        expect(
            &v,
            Outcome::Fail,
            "KEDANotResponding firing: 12 req/s and no replica change for 10 min",
        );
        assert!(v.command.as_deref().unwrap_or("").contains("and+on%28%29"));
    }

    #[test]
    fn keda_pending() {
        expect(
            &eval(keda_not_responding, &keda_holds(12.0, 3.0, 4.0)),
            Outcome::Warn,
            "pending: 12 req/s and no replica change, held at 4 of 10 points",
        );
    }

    #[test]
    fn keda_firing_at_steady_load_is_only_a_warning() {
        expect(
            &eval(keda_not_responding, &keda_holds(12.0, 12.0, 10.0)),
            Outcome::Warn,
            "but pods match sessions (12 / 12 = 1.00)",
        );
    }

    #[test]
    fn a_loaded_rule_with_a_bare_and_can_never_fire() {
        let mut s = healthy();
        s.prometheus_rules = Some(vec![
            rule("spice", "KEDANotResponding", RUNBOOK_KEDA),
            rule(
                "spice",
                "Fixed",
                r#"changes(kube_deployment_status_replicas{deployment="spice-runner"}[10m]) == 0 and on () sum(rate(nginx_http_requests_total[5m])) > 5"#,
            ),
        ]);
        let v = eval(keda_not_responding, &s);
        expect(
            &v,
            Outcome::Warn,
            "the loaded rule spice/KEDANotResponding can never fire: `and` without on() matches no series",
        );
        assert!(!v.message.contains("Fixed"));
        assert!(
            v.fix
                .as_deref()
                .unwrap_or("")
                .contains(") and on() (sum(rate(")
        );
    }

    #[test]
    fn keda_without_prometheus_is_an_error() {
        let mut s = healthy();
        set_prom_error(&mut s, promql::ALERT_KEDA_NOW, "no endpoints available");
        gap(
            &mut s,
            "prometheus",
            GapReason::Unreachable,
            "no endpoints available",
        );
        expect(
            &eval(keda_not_responding, &s),
            Outcome::Error,
            "could not read prometheus",
        );
    }

    #[test]
    fn bare_and_is_found_only_without_matching() {
        assert!(bare_and("a == 0 and b > 5"));
        assert!(bare_and("(a == 0) and(b > 5)"));
        assert!(!bare_and("a == 0 and on() b > 5"));
        assert!(!bare_and("a == 0 AND ON (x) b > 5"));
        assert!(!bare_and("a == 0 and ignoring(pod) b > 5"));
        assert!(!bare_and(r#"rate(commands_total{band="x"}[5m])"#));
        assert!(bare_and("a and on() b and c"));
    }
}
