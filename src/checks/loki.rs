//! Checks of the loki area: the game's Faro heartbeat events, which the Alloy
//! sidecar's `faro.receiver` pushes to Loki. Faro attributes arrive in the
//! logfmt line as `event_data_<key>`, and the stream carries only the labels
//! set in `extra_log_labels` (no `job` by default), so two of the runbook's
//! LogQL filters need care.

use super::prometheus::{api_command, value};
use super::sessions::{NO_SESSIONS, sessions_now};
use super::{Check, CheckId, Ctx, Docs, Outcome, Verdict};
use crate::cluster::promql;
use crate::report::num;
use crate::settings::{Endpoint, redact_url};
use crate::snapshot::{GapReason, LokiData};

pub static CHECKS: &[Check] = &[
    Check {
        id: CheckId::LokiReachable,
        title: "Loki answers",
        runbook: "Kubectl Monitoring Commands: Check Heartbeat Events in Loki",
        needs: &[],
        reads: "Loki heartbeat queries; gap loki",
        docs: Docs {
            what: "Whether Loki answered, through the API server's service proxy (lokiService) or lokiUrl.",
            why: "Heartbeat events are the sessions as the game sees them; they show sessions that nginx does not (zombies) and sidecars that send nothing. No Loki service at all is not an error: the heartbeat checks are skipped.",
            fix: "Point lokiService (NS/SVC:PORT) or --loki-url at Loki; a 403 needs verb get on services/proxy in Loki's namespace.",
        },
        source: file!(),
        eval: reachable,
    },
    Check {
        id: CheckId::LokiHeartbeats,
        title: "heartbeats arrive for every session",
        runbook: "Key Metrics Summary: Heartbeat Rate",
        needs: &[CheckId::LokiReachable],
        reads: "Loki sum(count_over_time(<lokiQuery> [5m])), label names; Prometheus sessions",
        docs: Docs {
            what: "Heartbeat events in the last 5 minutes per nginx session, against targets.heartbeatPerSession (0.2/s, one every 5 s): within half to double passes.",
            why: "The runbook's {job=\"faro\"} selector matches only if someone gave the Faro streams that label: faro.receiver labels streams with its extra_log_labels only. Too few heartbeats per session means pods without the sidecar or a receiver dropping events.",
            fix: "When the query matches no stream, set lokiQuery to a selector built from the labels Loki has (e.g. {app=\"spice\"} | logfmt | event_name=\"game_session_heartbeat\"). Too few heartbeats: check the alloy sidecar in every pod and faro_receiver_events_total.",
        },
        source: file!(),
        eval: heartbeats,
    },
    Check {
        id: CheckId::LokiZombies,
        title: "no zombie sessions",
        runbook: "Troubleshooting: Pods Not Scaling Down, Check 3",
        needs: &[CheckId::LokiHeartbeats],
        reads: "Loki distinct session_id with event_data_status=\"active\" in 2 min; Prometheus sessions",
        docs: Docs {
            what: "Sessions still heartbeating status=active in the last 2 minutes, against the sessions nginx sees.",
            why: "A client that keeps heartbeating after the player left is a zombie session. It does not keep pods alive (KEDA scales on nginx requests) but inflates session counts. The runbook's filter status=\"active\" matches nothing: after logfmt the attribute is event_data_status.",
            fix: "Make the game client stop heartbeating, or send status=ended, when a session ends; use event_data_status=\"active\" in LogQL. If pods are not scaling down, see sessions.traffic and keda.cooldown.",
        },
        source: file!(),
        eval: zombies,
    },
];

/// Where Loki is, as the user wrote it (`observability/loki:3100` or a URL).
fn location(ctx: &Ctx) -> String {
    match &ctx.settings.loki {
        Endpoint::Service(s) => s.to_string(),
        Endpoint::Url(u) => redact_url(u),
    }
}

/// The command that runs one LogQL metric query against the configured Loki.
fn query_command(ctx: &Ctx, logql: &str) -> String {
    api_command(
        &ctx.settings.loki,
        "/loki/api/v1/query",
        &[("query", logql)],
    )
}

fn labels_command(ctx: &Ctx) -> String {
    api_command(
        &ctx.settings.loki,
        "/loki/api/v1/labels",
        &[("since", "1h")],
    )
}

/// The Loki data, or the verdict that says why there is none: no Loki
/// service is a skip (not every cluster runs Loki), anything else an error.
fn loki_data<'a>(ctx: &Ctx<'a>) -> Result<&'a LokiData, Verdict> {
    if let Some(d) = &ctx.snap.loki {
        return Ok(d);
    }
    match ctx.snap.gap("loki") {
        Some(g) if g.reason == GapReason::NotFound => Err(Verdict::skip(format!(
            "no Loki at {}; set --loki-url",
            location(ctx)
        ))),
        Some(_) => Err(ctx
            .gap_verdict("loki")
            .unwrap_or_else(|| Verdict::error("could not read loki"))),
        None => Err(Verdict::skip("not in this snapshot: Loki was not queried")),
    }
}

/// The label names a LogQL stream selector (`{a="x", b=~"y"}`) matches on.
fn selector_labels(logql: &str) -> Vec<String> {
    let Some(start) = logql.find('{') else {
        return Vec::new();
    };
    let mut names = Vec::new();
    let mut name = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut in_name = true;
    for c in logql[start + 1..].chars() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' && q == '"' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '`' => quote = Some(c),
            '}' => break,
            ',' => {
                in_name = true;
                name.clear();
            }
            '=' | '!' | '~' => {
                if in_name && !name.trim().is_empty() {
                    names.push(name.trim().to_string());
                }
                in_name = false;
                name.clear();
            }
            _ if in_name => name.push(c),
            _ => {}
        }
    }
    names
}

fn reachable(ctx: &Ctx) -> Verdict {
    match loki_data(ctx) {
        Ok(_) => Verdict::pass(format!("Loki answers at {}", location(ctx))),
        Err(v) if v.outcome == Outcome::Error => {
            v.command(api_command(&ctx.settings.loki, "/ready", &[]))
        }
        Err(v) => v,
    }
}

fn heartbeats(ctx: &Ctx) -> Verdict {
    let data = match loki_data(ctx) {
        Ok(d) => d,
        Err(v) => return v,
    };
    let count_query = format!("sum(count_over_time({} [5m]))", data.query);
    let query_evidence = format!("LogQL: {count_query}");
    let Some(h) = data.heartbeats_5m else {
        if let Some(e) = &data.error {
            return Verdict::error(format!("Loki could not run the heartbeat query: {e}"))
                .evidence(query_evidence)
                .fix("check the lokiQuery setting (kubectl spice config view)")
                .command(query_command(ctx, &count_query));
        }
        return no_heartbeats(ctx, data, &count_query);
    };
    let target = ctx.settings.targets.heartbeat_per_session;
    let sessions = match sessions_now(ctx) {
        Ok(s) => s,
        Err(why) => {
            return Verdict::pass(format!(
                "{} heartbeat events in the last 5 min; per-session rate not checked: {}",
                num(h),
                why.message
            ))
            .evidence(query_evidence);
        }
    };
    if sessions < NO_SESSIONS {
        return if h < 0.5 {
            Verdict::pass("idle: 0 sessions, 0 heartbeat events in 5 min")
        } else {
            Verdict::pass(format!(
                "{} heartbeat events in 5 min, no nginx sessions now (see loki.zombies)",
                num(h)
            ))
        }
        .evidence(query_evidence);
    }
    if h < 0.5 {
        return Verdict::fail(format!(
            "0 heartbeat events in 5 min for {} sessions",
            num(sessions)
        ))
        .evidence(query_evidence)
        .fix("the game's heartbeats do not reach Loki: check the alloy sidecar (pods.sidecar) and its faro.receiver → loki.write pipeline, or set lokiQuery if heartbeats are stored under other labels")
        .command(query_command(ctx, &count_query));
    }
    let per_session = h / 300.0 / sessions;
    let observed = format!(
        "{per_session:.2} heartbeats/s per session (target {}): {} events in 5 min for {} sessions",
        num(target),
        num(h),
        num(sessions)
    );
    if target <= 0.0 || (0.5..=2.0).contains(&(per_session / target)) {
        return Verdict::pass(observed).evidence(query_evidence);
    }
    let by_session = format!("sum by (session_id) (count_over_time({} [5m]))", data.query);
    let fix = if per_session < target {
        "fewer heartbeats than sessions explain: some pods lack the alloy sidecar (pods.sidecar), faro.receiver drops events (faro_receiver_events_total, HTTP 429/413), or the client heartbeats less often than targets.heartbeatPerSession says"
    } else {
        "more heartbeats than sessions explain: sessions that send no requests to nginx (see loki.zombies), duplicate senders, or a shorter heartbeat interval than targets.heartbeatPerSession says"
    };
    Verdict::warn(format!("{observed} (×{:.2})", per_session / target))
        .evidence(query_evidence)
        .evidence("heartbeats are averaged over 5 min, sessions over the last minute: right after a change they disagree")
        .fix(fix)
        .command(query_command(ctx, &by_session))
}

/// The heartbeat query matched nothing: say whether its selector can match at all.
fn no_heartbeats(ctx: &Ctx, data: &LokiData, count_query: &str) -> Verdict {
    let query_evidence = format!("LogQL: {count_query}");
    if data.labels.is_empty() {
        return Verdict::fail("Loki has no streams at all (no label in the last hour)")
            .evidence(query_evidence)
            .fix("nothing pushes logs to this Loki: check the alloy sidecar's faro.receiver → loki.write pipeline and that the game sends its Faro events to it")
            .command(labels_command(ctx));
    }
    let missing: Vec<String> = selector_labels(&data.query)
        .into_iter()
        .filter(|l| !data.labels.contains(l))
        .collect();
    if !missing.is_empty() {
        return Verdict::warn(format!(
            "the heartbeat query matched no stream: Loki has no {} label (labels: {})",
            missing.join(", "),
            data.labels.join(", ")
        ))
        .evidence(query_evidence)
        .evidence("faro.receiver labels its streams only with extra_log_labels; it adds no job label")
        .fix("set lokiQuery to a selector built from the labels Loki has, e.g. {app=\"<value>\"} | logfmt | event_name=\"game_session_heartbeat\" (kubectl spice config view shows the current one)")
        .command(labels_command(ctx));
    }
    match sessions_now(ctx) {
        Ok(s) if s >= NO_SESSIONS => Verdict::fail(format!(
            "no heartbeat events in 5 min for {} sessions",
            num(s)
        ))
        .evidence(query_evidence)
        .fix("the game's heartbeats do not reach Loki, or reach it under other label values than lokiQuery selects: check the alloy sidecar (pods.sidecar) and the stream labels")
        .command(labels_command(ctx)),
        Ok(_) => Verdict::pass("idle: 0 sessions, no heartbeat events in 5 min").evidence(query_evidence),
        Err(_) => Verdict::warn("no heartbeat events in the last 5 min (sessions unknown)")
            .evidence(query_evidence)
            .fix("check the alloy sidecar (pods.sidecar) and that lokiQuery selects the Faro streams")
            .command(query_command(ctx, count_query)),
    }
}

fn zombies(ctx: &Ctx) -> Verdict {
    let data = match loki_data(ctx) {
        Ok(d) => d,
        Err(v) => return v,
    };
    let active_query = format!(
        "sum by (session_id) (count_over_time({} | event_data_status=\"active\" [2m]))",
        data.query
    );
    let active = match (data.active_sessions_2m, &data.error, data.heartbeats_5m) {
        (Some(a), _, _) => a,
        (None, Some(e), _) => {
            return Verdict::error(format!("Loki could not count active sessions: {e}"))
                .evidence(format!("LogQL: {active_query}"))
                .fix("check the lokiQuery setting (kubectl spice config view)")
                .command(query_command(ctx, &active_query));
        }
        (None, None, None) => {
            return Verdict::skip("no heartbeat stream to look in (see loki.heartbeats)");
        }
        // The query ran and matched nothing: no session is heartbeating active.
        (None, None, Some(_)) => 0.0,
    };
    let sessions = match sessions_now(ctx) {
        Ok(s) => s,
        Err(v) => return v,
    };
    if active >= 0.5 && sessions < NO_SESSIONS {
        if let Ok(Some(recent)) = value(ctx, promql::SESSIONS_MAX_5M)
            && recent >= NO_SESSIONS
        {
            return Verdict::pass(format!(
                "{} sessions heartbeated status=active in the last 2 min; traffic stopped less than 5 min ago, so they may just have ended",
                num(active)
            ));
        }
        return Verdict::fail(format!(
            "{} sessions still heartbeating status=active in the last 2 min with no nginx traffic",
            num(active)
        ))
        .evidence("the game client keeps sending heartbeats after the player left: zombie sessions. They do not hold pods (KEDA scales on nginx requests) but count as sessions in Loki and Grafana")
        .evidence("the runbook's zombie query filters status=\"active\", which matches nothing: after logfmt the attribute is event_data_status")
        .fix("make the client stop heartbeating, or send status=ended, when the session ends (e.g. on pagehide); if pods are not scaling down, see sessions.traffic and keda.cooldown")
        .command(query_command(ctx, &active_query));
    }
    if sessions >= NO_SESSIONS && active > 2.0 * sessions {
        return Verdict::warn(format!(
            "{} sessions heartbeating status=active in Loki vs {} nginx sessions (over 2×)",
            num(active),
            num(sessions)
        ))
        .evidence("Loki counts distinct session_id over 2 min, nginx sessions are the request rate over 1 min")
        .fix("some clients heartbeat as active without sending requests (stale tabs, a session never ended), or sessions send fewer than 1 request/s to nginx")
        .command(query_command(ctx, &active_query));
    }
    Verdict::pass(format!(
        "{} active sessions in Loki, {} nginx sessions",
        num(active),
        num(sessions)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::*;
    use crate::snapshot::Snapshot;

    fn with_loki(f: impl FnOnce(&mut LokiData)) -> Snapshot {
        let mut s = healthy();
        if let Some(d) = s.loki.as_mut() {
            f(d);
        }
        s
    }

    fn no_loki(reason: GapReason) -> Snapshot {
        let mut s = healthy();
        s.loki = None;
        gap(&mut s, "loki", reason, "services \"loki\" not found");
        s
    }

    #[test]
    fn healthy_passes() {
        crate::checks::testkit::assert_healthy_passes(CHECKS);
    }

    #[test]
    fn reachable_passes_with_where() {
        expect(
            &eval(reachable, &healthy()),
            Outcome::Pass,
            "Loki answers at observability/loki:3100",
        );
    }

    #[test]
    fn no_loki_service_is_a_skip_everywhere() {
        let s = no_loki(GapReason::NotFound);
        for c in CHECKS {
            expect(
                &eval(c.eval, &s),
                Outcome::Skip,
                "no Loki at observability/loki:3100; set --loki-url",
            );
        }
    }

    #[test]
    fn other_loki_gaps_are_errors() {
        let s = no_loki(GapReason::Forbidden);
        let v = eval(reachable, &s);
        expect(&v, Outcome::Error, "could not read loki");
        assert!(
            v.command
                .as_deref()
                .unwrap_or("")
                .contains("loki:3100/proxy/ready")
        );
        expect(&eval(heartbeats, &s), Outcome::Error, "could not read loki");
        expect(&eval(zombies, &s), Outcome::Error, "could not read loki");
    }

    #[test]
    fn loki_not_queried_is_a_skip() {
        let mut s = healthy();
        s.loki = None;
        expect(&eval(reachable, &s), Outcome::Skip, "not in this snapshot");
    }

    #[test]
    fn heartbeats_at_the_target_pass() {
        expect(
            &eval(heartbeats, &healthy()),
            Outcome::Pass,
            "0.20 heartbeats/s per session (target 0.2): 180 events in 5 min for 3 sessions",
        );
    }

    #[test]
    fn too_few_heartbeats_warn() {
        let s = with_loki(|d| d.heartbeats_5m = Some(60.0));
        let v = eval(heartbeats, &s);
        expect(&v, Outcome::Warn, "0.07 heartbeats/s per session");
        assert!(v.fix.as_deref().unwrap_or("").contains("sidecar"));
        assert!(
            v.command
                .as_deref()
                .unwrap_or("")
                .contains("/loki/api/v1/query?query=sum+by+%28session_id%29"),
            "{v:#?}"
        );
    }

    #[test]
    fn too_many_heartbeats_warn() {
        let s = with_loki(|d| d.heartbeats_5m = Some(900.0));
        let v = eval(heartbeats, &s);
        expect(&v, Outcome::Warn, "(×5.00)");
        assert!(
            v.fix
                .as_deref()
                .unwrap_or("")
                .starts_with("more heartbeats")
        );
    }

    #[test]
    fn idle_with_no_heartbeats_passes() {
        let mut s = with_loki(|d| d.heartbeats_5m = Some(0.0));
        set_prom(&mut s, promql::SESSIONS, Some(0.0));
        expect(&eval(heartbeats, &s), Outcome::Pass, "idle");
    }

    #[test]
    fn sessions_with_zero_heartbeats_fail() {
        let s = with_loki(|d| d.heartbeats_5m = Some(0.0));
        expect(
            &eval(heartbeats, &s),
            Outcome::Fail,
            "0 heartbeat events in 5 min for 3 sessions",
        );
    }

    #[test]
    fn the_runbooks_job_label_that_does_not_exist_warns_with_the_labels() {
        let s = with_loki(|d| {
            d.heartbeats_5m = None;
            d.active_sessions_2m = None;
            d.labels = vec!["app".into(), "kind".into(), "service_name".into()];
        });
        let v = eval(heartbeats, &s);
        expect(
            &v,
            Outcome::Warn,
            "Loki has no job label (labels: app, kind, service_name)",
        );
        assert!(v.fix.as_deref().unwrap_or("").contains("lokiQuery"));
        assert_eq!(
            v.command.as_deref(),
            Some(
                "kubectl get --raw '/api/v1/namespaces/observability/services/loki:3100/proxy/loki/api/v1/labels?since=1h'"
            )
        );
        expect(&eval(zombies, &s), Outcome::Skip, "no heartbeat stream");
    }

    #[test]
    fn existing_labels_but_no_heartbeat_lines() {
        let s = with_loki(|d| {
            d.heartbeats_5m = None;
            d.active_sessions_2m = None;
            d.labels = vec!["app".into(), "job".into()];
        });
        expect(
            &eval(heartbeats, &s),
            Outcome::Fail,
            "no heartbeat events in 5 min for 3 sessions",
        );
        let mut idle = s.clone();
        set_prom(&mut idle, promql::SESSIONS, Some(0.0));
        expect(&eval(heartbeats, &idle), Outcome::Pass, "idle");
        let mut unknown = s;
        set_prom(&mut unknown, promql::SESSIONS, None);
        expect(
            &eval(heartbeats, &unknown),
            Outcome::Warn,
            "sessions unknown",
        );
    }

    #[test]
    fn no_streams_at_all_fail() {
        let s = with_loki(|d| {
            d.heartbeats_5m = None;
            d.labels = vec![];
        });
        expect(&eval(heartbeats, &s), Outcome::Fail, "no streams at all");
    }

    #[test]
    fn a_rejected_query_is_an_error_quoting_loki() {
        let s = with_loki(|d| {
            d.heartbeats_5m = None;
            d.active_sessions_2m = None;
            d.error = Some("Loki rejected the query: parse error at line 1".into());
        });
        expect(
            &eval(heartbeats, &s),
            Outcome::Error,
            "parse error at line 1",
        );
        expect(&eval(zombies, &s), Outcome::Error, "parse error at line 1");
    }

    #[test]
    fn heartbeats_with_unknown_sessions_pass_without_a_rate() {
        let mut s = healthy();
        set_prom(&mut s, promql::SESSIONS, None);
        expect(
            &eval(heartbeats, &s),
            Outcome::Pass,
            "per-session rate not checked",
        );
    }

    #[test]
    fn heartbeats_without_nginx_sessions_pass_and_point_at_zombies() {
        let mut s = healthy();
        set_prom(&mut s, promql::SESSIONS, Some(0.0));
        expect(&eval(heartbeats, &s), Outcome::Pass, "see loki.zombies");
    }

    #[test]
    fn active_heartbeats_without_traffic_are_zombies() {
        let mut s = with_loki(|d| d.active_sessions_2m = Some(2.0));
        set_prom(&mut s, promql::SESSIONS, Some(0.0));
        set_prom(&mut s, promql::SESSIONS_MAX_5M, Some(0.0));
        let v = eval(zombies, &s);
        expect(
            &v,
            Outcome::Fail,
            "2 sessions still heartbeating status=active in the last 2 min with no nginx traffic",
        );
        assert!(v.evidence.iter().any(|e| e.contains("event_data_status")));
        assert!(
            v.command
                .as_deref()
                .unwrap_or("")
                .contains("event_data_status")
        );
    }

    #[test]
    fn active_heartbeats_right_after_traffic_stopped_pass() {
        let mut s = with_loki(|d| d.active_sessions_2m = Some(2.0));
        set_prom(&mut s, promql::SESSIONS, Some(0.0));
        expect(&eval(zombies, &s), Outcome::Pass, "may just have ended");
    }

    #[test]
    fn many_more_active_sessions_than_nginx_sessions_warn() {
        let s = with_loki(|d| d.active_sessions_2m = Some(7.0));
        expect(
            &eval(zombies, &s),
            Outcome::Warn,
            "7 sessions heartbeating status=active in Loki vs 3 nginx sessions",
        );
    }

    #[test]
    fn no_active_sessions_match_is_zero() {
        let mut s = with_loki(|d| d.active_sessions_2m = None);
        set_prom(&mut s, promql::SESSIONS, Some(0.0));
        expect(
            &eval(zombies, &s),
            Outcome::Pass,
            "0 active sessions in Loki, 0 nginx sessions",
        );
    }

    #[test]
    fn zombies_with_unknown_sessions_skip() {
        let mut s = healthy();
        set_prom(&mut s, promql::SESSIONS, None);
        expect(&eval(zombies, &s), Outcome::Skip, "sessions unknown");
    }

    #[test]
    fn selector_labels_are_parsed() {
        assert_eq!(
            selector_labels(r#"{job="faro", app=~"a,b}"} | logfmt | x="y""#),
            vec!["job".to_string(), "app".to_string()]
        );
        assert_eq!(
            selector_labels(r#"{ kind != `x"` ,service_name="s"}"#),
            vec!["kind".to_string(), "service_name".to_string()]
        );
        assert!(selector_labels("no selector").is_empty());
    }
}
