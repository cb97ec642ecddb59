//! `loki.zombies`: no zombie sessions. The check's docs, its evaluation and its
//! unit tests.

use super::*;

pub static CHECK: Check = Check {
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
};

pub(super) fn zombies(ctx: &Ctx) -> Verdict {
    let data = match loki_data(ctx) {
        Ok(d) => d,
        Err(v) => return v,
    };
    let active_query = promql::active_sessions_by_id_logql(&data.query);
    let active = match (data.active_sessions_2m, &data.error, data.heartbeats_5m) {
        (Some(a), _, _) => a,
        (None, Some(e), _) => {
            return Verdict::error(format!("Loki could not count active sessions: {e}"))
                .unread("loki")
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
    if active >= 0.5 && ctx.figures.idle.no_sessions(sessions) {
        if let Ok(Some(recent)) = value(ctx, promql::SESSIONS_MAX_5M)
            && !ctx.figures.idle.no_sessions(recent)
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
    if !ctx.figures.idle.no_sessions(sessions) && active > 2.0 * sessions {
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
    use super::super::tests::*;
    use super::*;

    use crate::checks::testkit::*;

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
}
