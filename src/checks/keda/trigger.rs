//! `keda.trigger`: Prometheus trigger queries sessions 1:1. The check's docs, its evaluation and its
//! unit tests.

use super::query_shape::Shape;
use super::query_shape::compact;
use super::query_shape::rate_window_secs;
use super::query_shape::shape;
use super::*;

pub static CHECK: Check = Check {
    id: CheckId::KedaTrigger,
    title: "Prometheus trigger queries sessions 1:1",
    runbook: "Prometheus Queries: Active Game Sessions; Troubleshooting: No Pods Scaling Up, Check 3",
    needs: &[CheckId::KedaScaledobject],
    reads: "scaledObject.triggers (type, metricType, metadata.query/threshold/serverAddress); Prometheus: the spacing of the nginx samples over 5m",
    docs: Docs {
        what: "The prometheus trigger: its query reads nginx_http_requests_total of the game's service and returns one element, its rate window holds two samples at the series' scrape interval, threshold is 1, metricType is AverageValue.",
        why: "KEDA errors on a query that returns several series (\"returned multiple elements\"); the HPA wants ceil(sessions / threshold) pods, so only threshold 1 with AverageValue gives one pod per session.",
        fix: "Use query sum(rate(nginx_http_requests_total{service=\"<nginxService>\"}[1m])), threshold \"1\", and leave metricType unset (AverageValue).",
    },
    source: file!(),
    eval: trigger,
};

/// Whether the trigger's serverAddress is the Prometheus the plugin reads.
fn same_prometheus(server_address: &str, setting: &Endpoint) -> Option<bool> {
    let url = url::Url::parse(server_address).ok()?;
    let host = url.host_str()?.to_ascii_lowercase();
    let port = url.port_or_known_default();
    Some(match setting {
        Endpoint::Service(s) => {
            let short = format!("{}.{}", s.name, s.namespace);
            let host_ok = host == short || host.starts_with(&format!("{short}."));
            let port_ok =
                s.port.is_empty() || s.port.parse::<u16>().map_or(true, |p| Some(p) == port);
            host_ok && port_ok
        }
        Endpoint::Url(u) => match url::Url::parse(u) {
            Ok(mine) => {
                mine.host_str().map(str::to_ascii_lowercase).as_deref() == Some(host.as_str())
                    && mine.port_or_known_default() == port
            }
            Err(_) => false,
        },
    })
}

/// The trigger's serverAddress against the Prometheus the plugin read: the
/// same one is evidence; another one, or a Service that does not exist, is
/// said with both addresses and the address the plugin knows answers.
fn server_address(ctx: &Ctx, addr: &str, issues: &mut Vec<Issue>, evidence: &mut Vec<String>) {
    let read = ctx.snap.prometheus_read.as_ref();
    let from_trigger = read.is_some_and(|r| r.how == "ScaledObject trigger");
    if from_trigger {
        let missing = ctx
            .snap
            .gap("prometheus")
            .filter(|g| g.reason == crate::domain::snapshot::GapReason::NotFound);
        if let Some(g) = missing {
            issues.push(Issue::fail(
                format!(
                    "serverAddress {addr} names a Service that does not exist ({})",
                    g.message
                ),
                "point serverAddress at the Prometheus Service (`kubectl get svc -A | grep -i prometheus`), e.g. http://prometheus-operated.monitoring.svc:9090 for kube-prometheus-stack, and set prometheusService to the same",
            ));
            return;
        }
        let why = read
            .and_then(|r| r.instead_of.as_deref())
            .map(|w| format!(", read because {w}"))
            .unwrap_or_default();
        evidence.push(format!(
            "serverAddress: {addr} (the Prometheus the plugin reads, from the ScaledObject's trigger{why})"
        ));
        return;
    }
    let shown = read
        .map(|r| r.address.clone())
        .unwrap_or_else(|| match &ctx.settings.prometheus {
            Endpoint::Service(s) => s.to_string(),
            other => other.to_string(),
        });
    match same_prometheus(addr, &ctx.settings.prometheus) {
        Some(true) => evidence.push(format!(
            "serverAddress: {addr} (the Prometheus the plugin reads: {shown})"
        )),
        Some(false) if ctx.snap.gap("prometheus").is_none() => {
            let fix = match &ctx.settings.prometheus {
                Endpoint::Service(s) => format!(
                    "if KEDA should read the Prometheus that answers, set serverAddress: http://{}.{}.svc{} (or set prometheusService to the one KEDA reads)",
                    s.name,
                    s.namespace,
                    if s.port.is_empty() { String::new() } else { format!(":{}", s.port) }
                ),
                Endpoint::Url(_) => "point serverAddress at the Prometheus the plugin reads, or set prometheusService to the one KEDA reads".to_string(),
            };
            issues.push(Issue::warn(
                format!(
                    "the trigger's serverAddress {addr} is not the Prometheus the plugin reads ({shown}): KEDA's numbers may differ from the plugin's"
                ),
                fix,
            ));
        }
        Some(false) | None => evidence.push(format!(
            "serverAddress: {addr} (cannot compare with the plugin's Prometheus: {shown})"
        )),
    }
}

/// The tenant the trigger sends (`X-Scope-OrgID` in its customHeaders)
/// against the prometheusTenant the plugin sends: another tenant is another
/// set of series, so KEDA and the plugin would see different numbers.
fn tenant(
    ctx: &Ctx,
    t: &crate::domain::snapshot::TriggerInfo,
    issues: &mut Vec<Issue>,
    evidence: &mut Vec<String>,
) {
    let keda = t
        .metadata
        .get("customHeaders")
        .and_then(|h| crate::domain::address::tenant_of_custom_headers(h));
    let plugin = ctx.settings.prometheus_tenant.as_deref();
    match (keda.as_deref(), plugin) {
        (Some(k), Some(p)) if k != p => issues.push(Issue::warn(
            format!(
                "the trigger's customHeaders send tenant {k} (X-Scope-OrgID), the plugin reads tenant {p} (prometheusTenant): KEDA's numbers come from another tenant's series"
            ),
            format!(
                "set prometheusTenant to {k} (--prometheus-tenant {k}) if KEDA's tenant is right, else the trigger's customHeaders to X-Scope-OrgID={p}"
            ),
        )),
        (Some(k), _) => evidence.push(format!(
            "tenant: {k} (X-Scope-OrgID in customHeaders, the tenant the plugin reads)"
        )),
        (None, Some(p)) => evidence.push(format!(
            "tenant: the plugin reads {p} (prometheusTenant); the trigger's customHeaders name none (a TriggerAuthentication may send it)"
        )),
        (None, None) => {}
    }
}

pub(super) fn trigger(ctx: &Ctx) -> Verdict {
    let so = match scaled_object(ctx) {
        Ok(so) => so,
        Err(v) => return v,
    };
    let look = so_jsonpath(ctx, "{.spec.triggers}");
    let sessions_query = promql::sessions(ctx.settings).promql;
    let Some(t) = so.prometheus_trigger() else {
        let types: Vec<&str> = so.triggers.iter().map(|t| t.type_.as_str()).collect();
        return Verdict::fail(format!(
            "ScaledObject {} has no prometheus trigger (triggers: {})",
            so.name,
            if types.is_empty() {
                "none".to_string()
            } else {
                types.join(", ")
            }
        ))
        .fix(format!(
            "add a trigger {{type: prometheus, metadata: {{serverAddress: <prometheus URL>, query: '{sessions_query}', threshold: \"1\"}}}}"
        ))
        .command(look);
    };
    let mut issues = Vec::new();
    let mut evidence = Vec::new();

    let others: Vec<&str> = so
        .triggers
        .iter()
        .filter(|x| !std::ptr::eq(*x, t))
        .map(|x| x.type_.as_str())
        .collect();
    if !others.is_empty() {
        issues.push(Issue::warn(
            format!(
                "{} other trigger(s) ({}): the HPA follows the largest desired count of all, so pods can exceed sessions",
                others.len(),
                others.join(", ")
            ),
            "drop the other triggers unless they are meant to add pods beyond one per session",
        ));
    }

    match t
        .metadata
        .get("query")
        .map(|q| q.trim())
        .filter(|q| !q.is_empty())
    {
        None => issues.push(Issue::fail(
            "the prometheus trigger has no query",
            format!("set metadata.query: '{sessions_query}'"),
        )),
        Some(query) => {
            evidence.push(format!("query: {query}"));
            let cq = compact(query);
            if cq == compact(&sessions_query) {
                evidence.push("the query is the sessions query the plugin uses".to_string());
            } else if cq.contains("nginx_http_requests_total") {
                let svc = promql::escape(&ctx.settings.nginx_service);
                let right_service = [
                    format!("service=\"{svc}\""),
                    format!("service='{svc}'"),
                    format!("service=~\"{svc}\""),
                ]
                .iter()
                .any(|m| cq.contains(m.as_str()));
                if right_service {
                    evidence.push(format!(
                        "the plugin computes sessions with {sessions_query}; the trigger's query differs but reads the same nginx service"
                    ));
                } else if cq.contains("service=") {
                    issues.push(Issue::fail(
                        format!(
                            "the query reads nginx_http_requests_total of another service, not service=\"{}\"",
                            ctx.settings.nginx_service
                        ),
                        format!("set metadata.query: '{sessions_query}' (or the nginxService setting, if the plugin's is wrong)"),
                    ));
                } else {
                    issues.push(Issue::warn(
                        "the query has no service matcher: it counts the requests of every nginx Prometheus scrapes",
                        format!("set metadata.query: '{sessions_query}'"),
                    ));
                }
                if cq.contains("status=\"") || cq.contains("status=~\"") {
                    issues.push(Issue::fail(
                        "the query filters on a status label, which nginx-prometheus-exporter's nginx_http_requests_total does not have: it matches nothing and KEDA reads 0",
                        "drop the status matcher (stub_status has no per-status counts)",
                    ));
                }
            } else {
                issues.push(Issue::warn(
                    format!(
                        "the query does not read nginx_http_requests_total: KEDA scales on something other than the sessions the plugin measures ({sessions_query})"
                    ),
                    format!("set metadata.query: '{sessions_query}', or accept that the sessions/pod ratio compares different things"),
                ));
            }
            match shape(query) {
                Shape::Single => {}
                Shape::Many => issues.push(Issue::fail(
                    "the query can return one series per instance (no top-level sum): KEDA errors \"prometheus query ... returned multiple elements\"",
                    format!("wrap the query in sum(...), e.g. '{sessions_query}'"),
                )),
                Shape::Scalar => issues.push(Issue::fail(
                    "the query returns a scalar, which KEDA's Prometheus scaler cannot decode (it reads vectors only)",
                    "use sum(...) instead of scalar(...)",
                )),
                Shape::Unknown => issues.push(Issue::warn(
                    "cannot tell whether the query returns exactly one element, which KEDA requires",
                    "make the outermost operation sum(...) so one element is guaranteed",
                )),
            }
            // A window shorter than two scrape intervals makes KEDA read an
            // empty result (0) while the series is fine (issue 9, item 8).
            let window = rate_window_secs(query).map(|w| w as f64);
            if let Some((message, fix)) =
                window.and_then(|w| crate::checks::prometheus::window_shortfall(ctx, w))
            {
                issues.push(Issue::fail(format!("the trigger's query: {message}"), fix));
            }
        }
    }

    let composite = matches!(
        ctx.figures.scaling.target.source,
        crate::domain::model::scaling::TargetSource::Composite { .. }
    );
    let raw_threshold = t.metadata.get("threshold");
    match (raw_threshold, t.threshold()) {
        (None, _) => issues.push(Issue::fail(
            "the prometheus trigger has no threshold (required)",
            "set metadata.threshold: \"1\" (one pod per session)",
        )),
        (Some(raw), None) => issues.push(Issue::fail(
            format!("threshold {raw:?} is not a number"),
            "set metadata.threshold: \"1\" (one pod per session)",
        )),
        (Some(_), Some(th)) if th <= 0.0 => issues.push(Issue::fail(
            format!("threshold {} must be above 0", num(th)),
            "set metadata.threshold: \"1\" (one pod per session)",
        )),
        (Some(_), Some(th)) if composite => {
            // advanced.scalingModifiers: the HPA scales on composite-metric
            // (kedacore/keda controllers/keda/hpa.go); this threshold is unused.
            evidence.push(format!(
                "threshold {}: not used for replicas: {}",
                num(th),
                ctx.figures.scaling.target.text()
            ));
        }
        (Some(_), Some(th)) => {
            let mut line = format!(
                "threshold: {} → desired pods = ceil(sessions / {})",
                num(th),
                num(th)
            );
            if let Ok(s) = sessions(ctx) {
                line.push_str(&format!(
                    " = ceil({} / {}) = {}",
                    num(s),
                    num(th),
                    ctx.figures.scaling.ceil_pods(s)
                ));
            }
            evidence.push(line);
            if (th - 1.0).abs() > 1e-9 {
                issues.push(Issue::warn(
                    format!(
                        "threshold {}: the HPA wants ceil(sessions / {}) pods, not one per session",
                        num(th),
                        num(th)
                    ),
                    "set metadata.threshold: \"1\" for pod-per-session",
                ));
            }
        }
    }

    match t.metric_type.as_deref() {
        _ if composite => evidence.push(format!(
            "metricType: the HPA reads composite-metric ({}), not the trigger's metric",
            ctx.figures.scaling.target.text()
        )),
        None | Some("") | Some("AverageValue") => {
            evidence.push("metricType: AverageValue (per pod: desired = ceil(value / threshold))".to_string());
        }
        Some("Value") => issues.push(Issue::warn(
            "metricType Value: the HPA scales by current pods × value / threshold, which keeps growing while sessions stay flat",
            "remove metricType (AverageValue is the default) for pod-per-session",
        )),
        Some(other) => issues.push(Issue::fail(
            format!("metricType {other} is not supported by the prometheus scaler (AverageValue or Value)"),
            "remove metricType (AverageValue is the default)",
        )),
    }

    if let Some(addr) = t.metadata.get("serverAddress") {
        server_address(ctx, addr, &mut issues, &mut evidence);
    }
    tenant(ctx, t, &mut issues, &mut evidence);

    combine(
        issues,
        format!(
            "prometheus trigger queries the sessions as one element, threshold {} (1 pod per session)",
            t.threshold().map_or("?".to_string(), num)
        ),
        evidence,
        look,
    )
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;

    use crate::checks::testkit::*;

    #[test]
    fn a_tenant_other_than_the_triggers_warns_with_both_and_the_same_one_is_evidence() {
        let mut s = healthy();
        trig_mut(&mut s).metadata.insert(
            "customHeaders".into(),
            "X-Scope-OrgID=tenant-a,Other=x".into(),
        );
        let mut settings = crate::settings::Settings::defaults();
        settings.prometheus_tenant = Some("tenant-b".into());
        let v = trigger(&Ctx::new(&s, &settings));
        expect(&v, Outcome::Warn, "tenant tenant-a");
        assert!(v.message.contains("tenant tenant-b"), "{}", v.message);
        settings.prometheus_tenant = Some("tenant-a".into());
        let v = trigger(&Ctx::new(&s, &settings));
        expect(&v, Outcome::Pass, "threshold 1");
        assert!(v.evidence.iter().any(|e| e.contains("tenant: tenant-a")));
        settings.prometheus_tenant = None;
        let v = trigger(&Ctx::new(&s, &settings));
        expect(&v, Outcome::Pass, "threshold 1");
    }

    #[test]
    fn trigger_with_the_runbook_query_passes() {
        let v = eval(trigger, &healthy());
        expect(&v, Outcome::Pass, "threshold 1");
        assert!(
            v.evidence
                .iter()
                .any(|e| e.contains("the sessions query the plugin uses"))
        );
        assert!(v.evidence.iter().any(|e| e.contains("ceil(3 / 1) = 3")));
        assert!(
            v.evidence
                .iter()
                .any(|e| e.contains("(the Prometheus the plugin reads")),
            "{:#?}",
            v.evidence
        );
    }

    #[test]
    fn trigger_with_an_equivalent_query_passes() {
        let mut s = healthy();
        set_query(
            &mut s,
            "sum(\n  rate(nginx_http_requests_total{job=\"nginx\", service=\"spice-runner-nginx\"}[2m])\n)",
        );
        expect(&eval(trigger, &s), Outcome::Pass, "one element");
        let mut s = healthy();
        trig_mut(&mut s).metadata.insert(
            "serverAddress".into(),
            "http://thanos-query.monitoring:9090".into(),
        );
        // Another Prometheus than the one read is said, with both
        // addresses and the one that answers (issue 19 item 2).
        let v = eval(trigger, &s);
        expect(
            &v,
            Outcome::Warn,
            "serverAddress http://thanos-query.monitoring:9090 is not the Prometheus the plugin reads (observability/prometheus:9090)",
        );
        assert!(
            v.fix
                .as_deref()
                .is_some_and(|f| f.contains("http://prometheus.observability.svc:9090")),
            "{:?}",
            v.fix
        );
    }

    #[test]
    fn missing_prometheus_trigger_fails() {
        let mut s = healthy();
        trig_mut(&mut s).type_ = "cpu".into();
        expect(
            &eval(trigger, &s),
            Outcome::Fail,
            "no prometheus trigger (triggers: cpu)",
        );
        so_mut(&mut s).triggers.clear();
        expect(&eval(trigger, &s), Outcome::Fail, "triggers: none");
    }

    #[test]
    fn query_without_aggregation_fails_with_multiple_elements() {
        let mut s = healthy();
        set_query(
            &mut s,
            r#"rate(nginx_http_requests_total{service="spice-runner-nginx"}[1m])"#,
        );
        let v = eval(trigger, &s);
        expect(&v, Outcome::Fail, "returned multiple elements");
        assert!(v.fix.unwrap().contains("sum("));
        set_query(
            &mut s,
            r#"nginx_http_requests_total{service="spice-runner-nginx"}"#,
        );
        expect(&eval(trigger, &s), Outcome::Fail, "multiple elements");
        set_query(
            &mut s,
            r#"scalar(sum(rate(nginx_http_requests_total{service="spice-runner-nginx"}[1m])))"#,
        );
        expect(&eval(trigger, &s), Outcome::Fail, "scalar");
    }

    #[test]
    fn query_of_another_service_or_with_a_status_matcher_fails() {
        let mut s = healthy();
        set_query(
            &mut s,
            r#"sum(rate(nginx_http_requests_total{service="other-nginx"}[1m]))"#,
        );
        expect(&eval(trigger, &s), Outcome::Fail, "another service");
        set_query(
            &mut s,
            r#"sum(rate(nginx_http_requests_total{service="spice-runner-nginx", status="200"}[1m]))"#,
        );
        expect(&eval(trigger, &s), Outcome::Fail, "status label");
    }

    #[test]
    fn trigger_warnings() {
        let mut s = healthy();
        set_query(&mut s, "sum(rate(nginx_http_requests_total[1m]))");
        expect(&eval(trigger, &s), Outcome::Warn, "no service matcher");
        set_query(&mut s, "sum(game_sessions_active)");
        expect(
            &eval(trigger, &s),
            Outcome::Warn,
            "does not read nginx_http_requests_total",
        );
        set_query(&mut s, "spice:sessions:rate1m");
        expect(&eval(trigger, &s), Outcome::Warn, "cannot tell");

        let mut s = healthy();
        trig_mut(&mut s)
            .metadata
            .insert("threshold".into(), "2".into());
        let v = eval(trigger, &s);
        expect(&v, Outcome::Warn, "ceil(sessions / 2)");
        assert!(
            v.evidence.iter().any(|e| e.contains("ceil(3 / 2) = 2")),
            "{:#?}",
            v.evidence
        );

        let mut s = healthy();
        trig_mut(&mut s).metric_type = Some("Value".into());
        expect(&eval(trigger, &s), Outcome::Warn, "metricType Value");

        let mut s = healthy();
        let mut cpu = so_mut(&mut s).triggers[0].clone();
        cpu.type_ = "cpu".into();
        so_mut(&mut s).triggers.push(cpu);
        expect(
            &eval(trigger, &s),
            Outcome::Warn,
            "1 other trigger(s) (cpu)",
        );
    }

    #[test]
    fn bad_threshold_fails() {
        let mut s = healthy();
        trig_mut(&mut s).metadata.remove("threshold");
        expect(&eval(trigger, &s), Outcome::Fail, "no threshold");
        trig_mut(&mut s)
            .metadata
            .insert("threshold".into(), "one".into());
        expect(&eval(trigger, &s), Outcome::Fail, "\"one\" is not a number");
        trig_mut(&mut s)
            .metadata
            .insert("threshold".into(), "0".into());
        expect(&eval(trigger, &s), Outcome::Fail, "must be above 0");
        trig_mut(&mut s)
            .metadata
            .insert("threshold".into(), "1".into());
        trig_mut(&mut s).metadata.remove("query");
        expect(&eval(trigger, &s), Outcome::Fail, "no query");
    }

    #[test]
    fn failures_are_named_before_warnings() {
        let mut s = healthy();
        trig_mut(&mut s)
            .metadata
            .insert("threshold".into(), "2".into());
        set_query(
            &mut s,
            r#"rate(nginx_http_requests_total{service="spice-runner-nginx"}[1m])"#,
        );
        let v = eval(trigger, &s);
        expect(&v, Outcome::Fail, "multiple elements");
        assert!(v.message.find("multiple").unwrap() < v.message.find("threshold 2").unwrap());
    }

    #[test]
    fn trigger_window_under_two_scrape_intervals_fails() {
        let mut s = healthy();
        set_prom(&mut s, promql::NGINX_SAMPLES_5M, Some(5.0));
        set_prom(&mut s, promql::SESSIONS, None);
        let v = eval(trigger, &s);
        expect(
            &v,
            Outcome::Fail,
            "the trigger's query: a [1m] rate window holds fewer than two samples",
        );
        expect(&v, Outcome::Fail, "at least [2m]");
        set_prom(&mut s, promql::NGINX_SAMPLES_5M, Some(20.0));
        assert_eq!(eval(trigger, &s).outcome, Outcome::Pass);
    }

    #[test]
    fn with_scaling_modifiers_the_threshold_is_unused_and_not_blamed() {
        let mut s = healthy();
        let so = so_mut(&mut s);
        if let Some(t) = so.triggers.first_mut() {
            t.metadata.insert("threshold".into(), "5".into());
        }
        so.scaling_modifiers = Some(crate::domain::snapshot::ScalingModifiersInfo {
            formula: Some("s0".into()),
            target: Some("1".into()),
            activation_target: Some("0.2".into()),
            metric_type: None,
        });
        let v = eval(trigger, &s);
        let all = format!("{v:#?}");
        assert!(!all.contains("the HPA wants ceil(sessions / 5)"), "{all}");
        assert!(
            all.contains("threshold 5: not used for replicas: scalingModifiers target 1"),
            "{all}"
        );
    }
}
