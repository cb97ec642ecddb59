//! Checks of the alerts area: the runbook's two alert rules, evaluated with
//! their flaws corrected (`sum` instead of `count` for Running pods, `and on()`
//! instead of a bare `and`), and the rules Prometheus has loaded, scanned for
//! those flawed forms.

use super::prometheus::{api_command, query_command, samples, value};
use super::sessions::{running_pods, sessions_now};
use super::{Area, Check, Ctx, Docs, Outcome, Verdict};
use crate::cluster::promql;
use crate::report::num;
use crate::report::status::{Band, band};
use crate::snapshot::RuleInfo;

pub static CHECKS: &[Check] = &[
    Check {
        id: "alerts.pod-session-ratio",
        area: Area::Alerts,
        title: "PodSessionRatioAnomaly",
        runbook: "Alert Rules: Pod-to-Session Ratio Out of Range",
        needs: &["prometheus.nginx-metric", "prometheus.kube-state-metrics"],
        reads: "Prometheus |sessions/running − 1| now and over 5 min; loaded alert rules",
        docs: Docs {
            what: "The runbook's PodSessionRatioAnomaly (|sessions/running pods − 1| > 0.5 for 5m), evaluated with sum(kube_pod_status_phase{phase=\"Running\"}); and any loaded rule that counts pods with count(kube_pod_status_phase...) or selects them with the runbook's pod=~\"<deployment>-.*\".",
            why: "kube-state-metrics emits a 0/1 series for every phase of every pod, so count(...{phase=\"Running\"}) counts all pods, not the Running ones: the runbook's alert compares sessions with the wrong number. Its pod=~\"spice-runner-.*\" also counts the spice-runner-nginx pods, so a healthy game looks overprovisioned.",
            fix: "When it fires, pods do not follow sessions (see sessions.ratio). In the rule, replace count(kube_pod_status_phase{...}) with sum(kube_pod_status_phase{...}), and match pods by the Deployment's pod-name shape (kubectl spice alerts prints the corrected rule).",
        },
        eval: pod_session_ratio,
    },
    Check {
        id: "alerts.keda-not-responding",
        area: Area::Alerts,
        title: "KEDANotResponding",
        runbook: "Alert Rules: KEDANotResponding",
        needs: &["prometheus.nginx-metric", "prometheus.kube-state-metrics"],
        reads: "Prometheus changes(kube_deployment_status_replicas[10m]) == 0 and on() request rate > 5, now and over 10 min; loaded alert rules",
        docs: Docs {
            what: "The runbook's KEDANotResponding (no replica change in 10 min while over 5 req/s, for 10m), evaluated with `and on()`; and any loaded rule with the runbook's bare `and`.",
            why: "`and` matches on all labels; the two sides share none, so the runbook's rule matches no series and can never fire. The alert also holds at steady load, when pods already match sessions.",
            fix: "Use `(changes(kube_deployment_status_replicas{...}[10m]) == 0) and on() (sum(rate(nginx_http_requests_total{...}[5m])) > 5)`. When it fires with pods not matching sessions, follow keda.* and hpa.*.",
        },
        eval: keda_not_responding,
    },
];

/// Points of the 30 s subquery over 5 min: the whole `for: 5m` window.
const RATIO_POINTS: f64 = 11.0;
/// Points of the 1 m subquery over 10 min that make `for: 10m`.
const KEDA_POINTS: f64 = 10.0;

fn rules_command(ctx: &Ctx) -> String {
    api_command(
        &ctx.settings.prometheus,
        "/api/v1/rules",
        &[("type", "alert")],
    )
}

fn rule_name(r: &RuleInfo) -> String {
    if r.group.is_empty() {
        r.name.clone()
    } else {
        format!("{}/{}", r.group, r.name)
    }
}

fn compact(query: &str) -> String {
    query.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Counts pods of a phase with `count(...)` and never with `sum(...)`: the
/// runbook's ratio, "running pods" and success-rate forms. The correct success
/// rate, `sum(...Running) / count(...Running)`, has a `sum` and is left alone.
fn counts_pods(r: &RuleInfo) -> bool {
    let q = compact(&r.query);
    q.contains("count(kube_pod_status_phase") && !q.contains("sum(kube_pod_status_phase")
}

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

/// The loaded rules that match `flawed`, or a line saying they were not read.
fn flawed_rules<'a>(
    ctx: &Ctx<'a>,
    flawed: impl Fn(&RuleInfo) -> bool,
) -> (Vec<&'a RuleInfo>, Option<String>) {
    match &ctx.snap.prometheus_rules {
        Some(rules) => (rules.iter().filter(|r| flawed(r)).collect(), None),
        None => (
            Vec::new(),
            ctx.snap
                .gap("prometheus-rules")
                .map(|g| format!("loaded alert rules not read: {}", g.message)),
        ),
    }
}

/// Adds what the rule scan found to the evaluation: a pass (or skip) becomes
/// a warn about the rules; a warn or fail keeps its outcome and gains evidence.
fn with_rules(ctx: &Ctx, v: Verdict, rules: &[&RuleInfo], problem: &str, fix: String) -> Verdict {
    if rules.is_empty() {
        return v;
    }
    let names: Vec<String> = rules.iter().map(|r| rule_name(r)).collect();
    let finding = format!(
        "the loaded rule{} {} {problem}",
        if names.len() == 1 { "" } else { "s" },
        names.join(", ")
    );
    let mut v = match v.outcome {
        Outcome::Warn | Outcome::Fail => v.evidence(finding),
        _ => {
            let mut w = Verdict::warn(finding)
                .fix(fix)
                .command(rules_command(ctx))
                .evidence(format!("the corrected alert now: {}", v.message));
            for e in v.evidence {
                w = w.evidence(e);
            }
            w
        }
    };
    for r in rules {
        v = v.evidence(format!("{}: {}", rule_name(r), r.query));
    }
    v
}

fn ratio_text(x: f64) -> String {
    if x.is_infinite() {
        "+Inf (sessions with no Running pod)".to_string()
    } else {
        format!("{x:.2}")
    }
}

fn pod_session_ratio(ctx: &Ctx) -> Verdict {
    let now = match samples(ctx, promql::ALERT_RATIO_NOW) {
        Ok(s) => s,
        Err(v) => return v,
    };
    let expr = promql::pod_session_ratio_expr(ctx.settings);
    let held = value(ctx, promql::ALERT_RATIO_FOR)
        .ok()
        .flatten()
        .unwrap_or(0.0);
    let v = match now.first().map(|s| s.value) {
        None => match running_pods(ctx) {
            Ok(r) if r < 0.5 => Verdict::pass(
                "PodSessionRatioAnomaly not evaluable: no running pods (the expression has no value at zero pods)",
            ),
            _ => Verdict::skip(
                "PodSessionRatioAnomaly not evaluable: its expression returned no value (no request or pod series)",
            ),
        },
        Some(x) if x.is_nan() => {
            Verdict::pass("PodSessionRatioAnomaly not evaluable: 0 sessions / 0 running pods")
        }
        Some(x) if x > 0.5 && held >= RATIO_POINTS => Verdict::fail(format!(
            "PodSessionRatioAnomaly firing: |ratio−1| = {} > 0.5 for the whole 5 min",
            ratio_text(x)
        ))
        .fix("pods do not follow sessions: sessions.ratio and sessions.traffic say in which direction")
        .command(query_command(ctx.settings, &expr)),
        Some(x) if x > 0.5 => Verdict::warn(format!(
            "PodSessionRatioAnomaly pending: |ratio−1| = {} > 0.5, held at {} of {} points in 5 min (fires at {})",
            ratio_text(x),
            num(held),
            num(RATIO_POINTS),
            num(RATIO_POINTS)
        ))
        .fix("pods lag or outlive sessions right now: see sessions.ratio; it fires if this lasts 5 min")
        .command(query_command(ctx.settings, &expr)),
        Some(x) => Verdict::pass(format!("PodSessionRatioAnomaly ok (|ratio−1| = {x:.2})")),
    };
    let v = v.evidence(format!("corrected expression: {expr} > 0.5, for: 5m"));
    let (rules, unread) = flawed_rules(ctx, counts_pods);
    let v = match unread {
        Some(line) => v.evidence(line),
        None => v,
    };
    let v = with_rules(
        ctx,
        v,
        &rules,
        "counts pods with count(kube_pod_status_phase...): that counts every pod in every phase, not the Running ones",
        format!(
            "replace count(kube_pod_status_phase{{...}}) with sum(kube_pod_status_phase{{...}}); the corrected PodSessionRatioAnomaly is: {expr} > 0.5"
        ),
    );
    // The runbook's pod=~"<deployment>-.*" also matches the nginx pods.
    let deployment = &ctx.settings.deployment;
    let loose = format!("pod=~\"{deployment}-.*\"");
    let (loose_rules, _) = flawed_rules(ctx, |r| compact(&r.query).contains(&loose));
    with_rules(
        ctx,
        v,
        &loose_rules,
        &format!(
            "selects pods with {loose}, which also matches the {deployment}-nginx pods and any other {deployment}-* workload"
        ),
        format!(
            "select the Deployment's own pods by their name shape, pod=~\"{}\" (kubectl spice alerts prints the corrected rules)",
            promql::deployment_pod_regex(deployment)
        ),
    )
}

fn keda_not_responding(ctx: &Ctx) -> Verdict {
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
        let (per_pod, b) = band(rate, running, &ctx.settings.bands);
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
    use super::*;
    use crate::checks::testkit::*;
    use crate::snapshot::GapReason;

    const RUNBOOK_RATIO: &str = r#"abs(sum(rate(nginx_http_requests_total{service="spice-runner-nginx"}[5m])) / count(kube_pod_status_phase{namespace="default",phase="Running",pod=~"spice-runner-.*"}) - 1) > 0.5"#;
    const RUNBOOK_KEDA: &str = r#"changes(kube_deployment_status_replicas{deployment="spice-runner"}[10m]) == 0 and rate(nginx_http_requests_total{service="spice-runner-nginx"}[5m]) > 5"#;

    #[test]
    fn healthy_passes() {
        crate::checks::testkit::assert_healthy_passes(CHECKS);
    }

    #[test]
    fn ratio_ok() {
        expect(
            &eval(pod_session_ratio, &healthy()),
            Outcome::Pass,
            "ok (|ratio−1| = 0.00)",
        );
    }

    #[test]
    fn ratio_firing_after_the_whole_window() {
        let mut s = healthy();
        set_prom(&mut s, promql::ALERT_RATIO_NOW, Some(0.67));
        set_prom(&mut s, promql::ALERT_RATIO_FOR, Some(11.0));
        let v = eval(pod_session_ratio, &s);
        expect(&v, Outcome::Fail, "firing: |ratio−1| = 0.67");
        assert!(
            v.command
                .as_deref()
                .unwrap_or("")
                .contains("query=abs%28sum")
        );
    }

    #[test]
    fn ratio_pending_says_how_long_it_held() {
        let mut s = healthy();
        set_prom(&mut s, promql::ALERT_RATIO_NOW, Some(0.67));
        set_prom(&mut s, promql::ALERT_RATIO_FOR, Some(4.0));
        expect(
            &eval(pod_session_ratio, &s),
            Outcome::Warn,
            "pending: |ratio−1| = 0.67 > 0.5, held at 4 of 11 points",
        );
        set_prom(&mut s, promql::ALERT_RATIO_FOR, None);
        expect(
            &eval(pod_session_ratio, &s),
            Outcome::Warn,
            "held at 0 of 11",
        );
    }

    #[test]
    fn ratio_with_sessions_and_no_running_pod_is_infinite() {
        let mut s = healthy();
        set_prom(&mut s, promql::ALERT_RATIO_NOW, Some(f64::INFINITY));
        set_prom(&mut s, promql::ALERT_RATIO_FOR, Some(11.0));
        expect(&eval(pod_session_ratio, &s), Outcome::Fail, "+Inf");
        set_prom(&mut s, promql::ALERT_RATIO_NOW, Some(f64::NAN));
        expect(&eval(pod_session_ratio, &s), Outcome::Pass, "not evaluable");
    }

    #[test]
    fn ratio_at_zero_pods_is_not_evaluable() {
        let mut s = healthy();
        set_prom(&mut s, promql::ALERT_RATIO_NOW, None);
        set_prom(&mut s, promql::RUNNING_PODS, None);
        expect(
            &eval(pod_session_ratio, &s),
            Outcome::Pass,
            "not evaluable: no running pods",
        );
        set_prom(&mut s, promql::RUNNING_PODS, Some(3.0));
        expect(&eval(pod_session_ratio, &s), Outcome::Skip, "not evaluable");
    }

    #[test]
    fn ratio_without_prometheus_is_an_error() {
        let mut s = healthy();
        set_prom_error(&mut s, promql::ALERT_RATIO_NOW, "Prometheus timeout: slow");
        expect(&eval(pod_session_ratio, &s), Outcome::Error, "slow");
    }

    #[test]
    fn a_loaded_rule_with_the_runbooks_pod_regex_warns() {
        let mut s = healthy();
        s.prometheus_rules = Some(vec![rule(
            "spice",
            "PodSessionRatioAnomaly",
            r#"sum(rate(nginx_http_requests_total{service="spice-runner-nginx"}[5m])) / sum(kube_pod_status_phase{namespace="default", pod=~"spice-runner-.*", phase="Running"}) < 0.5"#,
        )]);
        let v = eval(pod_session_ratio, &s);
        expect(
            &v,
            Outcome::Warn,
            "selects pods with pod=~\"spice-runner-.*\", which also matches the spice-runner-nginx pods",
        );
        assert!(
            v.fix
                .as_deref()
                .unwrap_or("")
                .contains("pod=~\"spice-runner-[bcdfghjklmnpqrstvwxz2456789]{1,10}-"),
            "{v:#?}"
        );
        // The runbook's own rule has both flaws: one warning, both findings.
        s.prometheus_rules = Some(vec![rule("spice", "PodSessionRatioAnomaly", RUNBOOK_RATIO)]);
        let v = eval(pod_session_ratio, &s);
        expect(&v, Outcome::Warn, "counts pods with count(");
        assert!(
            v.evidence
                .iter()
                .any(|e| e.contains("also matches the spice-runner-nginx pods")),
            "{v:#?}"
        );
    }

    #[test]
    fn a_loaded_rule_that_counts_pods_warns() {
        let mut s = healthy();
        s.prometheus_rules = Some(vec![
            rule("spice", "PodSessionRatioAnomaly", RUNBOOK_RATIO),
            rule(
                "spice",
                "PodSuccessRate",
                r#"sum(kube_pod_status_phase{phase="Running"}) / count(kube_pod_status_phase{phase="Running"}) < 0.99"#,
            ),
        ]);
        let v = eval(pod_session_ratio, &s);
        expect(
            &v,
            Outcome::Warn,
            "the loaded rule spice/PodSessionRatioAnomaly counts pods with count(",
        );
        assert!(!v.message.contains("PodSuccessRate"), "{v:#?}");
        assert!(
            v.fix
                .as_deref()
                .unwrap_or("")
                .contains("sum(kube_pod_status_phase{namespace=")
        );
        assert!(
            v.command
                .as_deref()
                .unwrap_or("")
                .contains("/api/v1/rules?type=alert")
        );
        assert!(
            v.evidence
                .iter()
                .any(|e| e.contains("the corrected alert now: PodSessionRatioAnomaly ok"))
        );
    }

    #[test]
    fn a_firing_ratio_keeps_its_fail_and_names_the_flawed_rule() {
        let mut s = healthy();
        set_prom(&mut s, promql::ALERT_RATIO_NOW, Some(1.0));
        set_prom(&mut s, promql::ALERT_RATIO_FOR, Some(11.0));
        s.prometheus_rules = Some(vec![rule("spice", "PodSessionRatioAnomaly", RUNBOOK_RATIO)]);
        let v = eval(pod_session_ratio, &s);
        expect(&v, Outcome::Fail, "firing");
        assert!(
            v.evidence
                .iter()
                .any(|e| e.contains("spice/PodSessionRatioAnomaly counts pods"))
        );
    }

    #[test]
    fn unread_rules_are_mentioned() {
        let mut s = healthy();
        s.prometheus_rules = None;
        gap(
            &mut s,
            "prometheus-rules",
            GapReason::Forbidden,
            "rules forbidden",
        );
        let v = eval(pod_session_ratio, &s);
        expect(&v, Outcome::Pass, "ok");
        assert!(v.evidence.iter().any(|e| e.contains("rules forbidden")));
    }

    #[test]
    fn keda_ok() {
        expect(
            &eval(keda_not_responding, &healthy()),
            Outcome::Pass,
            "KEDANotResponding ok",
        );
    }

    fn keda_holds(rate: f64, running: f64, held: f64) -> crate::snapshot::Snapshot {
        let mut s = healthy();
        set_prom(&mut s, promql::SESSIONS, Some(rate));
        set_prom(&mut s, promql::RUNNING_PODS, Some(running));
        set_prom(&mut s, promql::ALERT_KEDA_NOW, Some(0.0));
        set_prom(&mut s, promql::ALERT_KEDA_FOR, Some(held));
        s
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
