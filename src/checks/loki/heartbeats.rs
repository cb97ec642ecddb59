//! `loki.heartbeats`: heartbeats arrive for every session. The check's docs, its evaluation and its
//! unit tests.

use super::*;

pub static CHECK: Check = Check {
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
};

fn labels_command(ctx: &Ctx) -> String {
    api_command(
        &super::endpoint(ctx),
        "/loki/api/v1/labels",
        &[("since", "1h")],
    )
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

pub(super) fn heartbeats(ctx: &Ctx) -> Verdict {
    let data = match loki_data(ctx) {
        Ok(d) => d,
        Err(v) => return v,
    };
    let count_query = promql::heartbeats_5m_logql(&data.query);
    let query_evidence = format!("LogQL: {count_query}");
    let Some(h) = data.heartbeats_5m else {
        if let Some(e) = &data.error {
            return Verdict::error(format!("Loki could not run the heartbeat query: {e}"))
                .unread("loki")
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
    if ctx.figures.idle.no_sessions(sessions) {
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
        Ok(s) if !ctx.figures.idle.no_sessions(s) => Verdict::fail(format!(
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

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;

    use crate::checks::testkit::*;

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
