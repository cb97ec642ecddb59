//! `alerts.keda-not-responding`: KEDANotResponding. The check's docs, its evaluation and its
//! unit tests.

use super::*;

pub static CHECK: Check = Check {
    id: CheckId::AlertsKedaNotResponding,
    title: "KEDANotResponding",
    runbook: "Alert Rules: KEDANotResponding",
    needs: &[CheckId::PrometheusKubeStateMetrics],
    reads: "Prometheus: the shipped KEDANotResponding expression (the KEDA HPA's desired != current replicas, kube-state-metrics) now and over 10 min; loaded alert rules",
    docs: Docs {
        what: "Evaluates exactly the KEDANotResponding rule `kubectl spice alerts` ships: the KEDA HPA's desired replicas differ from its current replicas (kube_horizontalpodautoscaler_status_desired_replicas vs _current_replicas), for 10m. Scans the loaded rules for the runbook's form (no replica change for 10 min over 5 req/s).",
        why: "A scale the HPA decided but that is not carried out is scaling really stuck. The runbook's rule fires at steady load, whenever replicas do not change for 10 minutes while sessions run (every calm evening); with its bare `and` it matches no series and never fires at all.",
        fix: "When it fires, the Deployment does not reach the HPA's count: follow hpa.conditions (FailedRescale), pods.pending and nodes.scale-up. Replace the runbook's rule with the one `kubectl spice alerts` prints.",
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

/// The runbook's form: "no replica change in 10 minutes".
fn runbook_form(r: &RuleInfo) -> bool {
    compact(&r.query).contains("changes(kube_deployment_status_replicas")
}

fn never_fires(r: &RuleInfo) -> bool {
    runbook_form(r) && bare_and(&r.query)
}

fn fires_at_steady_load(r: &RuleInfo) -> bool {
    runbook_form(r) && !bare_and(&r.query)
}

pub(super) fn keda_not_responding(ctx: &Ctx) -> Verdict {
    let now = match samples(ctx, promql::ALERT_KEDA_NOW) {
        Ok(s) => s,
        Err(v) => return v,
    };
    let expr = promql::keda_not_responding_alert_expr(ctx.settings);
    if let Some(v) = other_expression(ctx, promql::ALERT_KEDA_NOW, &expr, "KEDANotResponding") {
        return v;
    }
    let one_line = expr.split_whitespace().collect::<Vec<_>>().join(" ");
    let held = value(ctx, promql::ALERT_KEDA_FOR)
        .ok()
        .flatten()
        .unwrap_or(0.0);
    let hpa_name = ctx.snap.keda_hpa_name(&ctx.settings.scaled_object);
    let current = ctx
        .snap
        .keda_hpa(&ctx.settings.scaled_object)
        .and_then(|h| h.current_replicas)
        .map(|c| format!(", has {c}"))
        .unwrap_or_default();
    let v = match now.first().map(|s| s.value) {
        None => Verdict::pass(format!(
            "KEDANotResponding quiet: HPA {hpa_name} has the replicas it wants (desired = current), steady load included"
        )),
        Some(desired) if held >= KEDA_POINTS => Verdict::fail(format!(
            "KEDANotResponding firing: HPA {hpa_name} wants {}{current} and has not reached it for 10 min: scaling is stuck",
            num(desired)
        ))
        .fix("the Deployment does not reach the HPA's count: follow hpa.conditions (FailedRescale), pods.pending and nodes.scale-up")
        .command(query_command(ctx, &one_line)),
        Some(desired) => Verdict::warn(format!(
            "KEDANotResponding pending: HPA {hpa_name} wants {}{current}, held at {} of {} points in 10 min (fires at {})",
            num(desired),
            num(held.min(KEDA_POINTS)),
            num(KEDA_POINTS),
            num(KEDA_POINTS)
        ))
        .fix("a scale is under way or stuck: it fires if desired and current replicas differ for 10 min; see hpa.conditions and pods.pending")
        .command(query_command(ctx, &one_line)),
    };
    let v = v.evidence(format!("shipped expression: {one_line}, for: 10m"));
    let (rules, unread) = flawed_rules(ctx, never_fires);
    let v = match unread {
        Some(line) => v.evidence(line),
        None => v,
    };
    let v = with_rules(
        ctx,
        v,
        &rules,
        "can never fire: `and` without on() matches no series (the two sides share no labels)",
        format!("replace it with the rule `kubectl spice alerts` prints: {one_line}"),
    );
    let (steady, _) = flawed_rules(ctx, fires_at_steady_load);
    with_rules(
        ctx,
        v,
        &steady,
        "pages at steady load: replicas that do not change for 10 minutes while sessions run are what a calm evening looks like",
        format!("replace it with the rule `kubectl spice alerts` prints: {one_line}"),
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
            "KEDANotResponding quiet: HPA keda-hpa-spice-runner-keda has the replicas it wants",
        );
    }

    #[test]
    fn keda_firing_when_the_hpa_does_not_reach_its_count() {
        let v = eval(keda_not_responding, &keda_holds(12.0, 3.0, 10.0));
        expect(
            &v,
            Outcome::Fail,
            "KEDANotResponding firing: HPA keda-hpa-spice-runner-keda wants 5, has 3 and has not reached it for 10 min",
        );
        assert!(
            v.command
                .as_deref()
                .unwrap_or("")
                .contains("kube_horizontalpodautoscaler_status_desired_replicas")
        );
    }

    #[test]
    fn its_look_command_queries_the_prometheus_read_from_the_trigger() {
        let mut s = keda_holds(12.0, 3.0, 10.0);
        s.prometheus_read = Some(crate::domain::snapshot::ReadFrom {
            address: "monitoring/prometheus-operated:9090".into(),
            how: "ScaledObject trigger".into(),
            instead_of: None,
            tenant: None,
            tenant_from: None,
        });
        let v = eval(keda_not_responding, &s);
        let cmd = v.command.as_deref().unwrap_or("");
        assert!(
            cmd.starts_with(
                "kubectl get --raw '/api/v1/namespaces/monitoring/services/prometheus-operated:9090/proxy/api/v1/query?query="
            ),
            "{cmd}"
        );
    }

    #[test]
    fn keda_pending() {
        expect(
            &eval(keda_not_responding, &keda_holds(12.0, 3.0, 4.0)),
            Outcome::Warn,
            "pending: HPA keda-hpa-spice-runner-keda wants 5, has 3, held at 4 of 10 points",
        );
    }

    #[test]
    fn steady_load_is_quiet_and_a_loaded_runbook_rule_is_named() {
        let mut s = healthy();
        set_prom(&mut s, promql::SESSIONS, Some(12.0));
        set_prom(&mut s, promql::RUNNING_PODS, Some(12.0));
        expect(&eval(keda_not_responding, &s), Outcome::Pass, "quiet");
        s.prometheus_rules = Some(vec![rule(
            "spice",
            "Corrected",
            r#"(changes(kube_deployment_status_replicas{deployment="spice-runner"}[10m]) == 0) and on() (sum(rate(nginx_http_requests_total[5m])) > 5)"#,
        )]);
        expect(
            &eval(keda_not_responding, &s),
            Outcome::Warn,
            "the loaded rule spice/Corrected pages at steady load",
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
                .contains("kube_horizontalpodautoscaler_status_current_replicas")
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
