//! Checks of the loki area: the game's Faro heartbeat events, which the Alloy
//! sidecar's `faro.receiver` pushes to Loki. Faro attributes arrive in the
//! logfmt line as `event_data_<key>`, and the stream carries only the labels
//! set in `extra_log_labels` (no `job` by default), so two of the runbook's
//! LogQL filters need care.

use super::prometheus::{api_command, value};
use super::sessions::sessions_now;
use super::{Check, CheckId, Ctx, Docs, Outcome, Verdict};
use crate::domain::promql;
use crate::domain::quantity::num;
use crate::domain::snapshot::{GapReason, LokiData};
use crate::settings::{Endpoint, redact_url};

pub(super) mod heartbeats;
pub(super) mod reachable;
pub(super) mod zombies;

/// The Loki that was read: the configured one, or the chart's gateway the
/// collect step found when the configured Service did not exist.
fn endpoint(ctx: &Ctx) -> Endpoint {
    ctx.snap
        .loki_read
        .as_ref()
        .filter(|r| r.how == crate::domain::snapshot::LOKI_GATEWAY_HOW)
        .and_then(|r| crate::settings::ServiceRef::parse(&r.address).ok())
        .map(Endpoint::Service)
        .unwrap_or_else(|| ctx.settings.loki.clone())
}

/// Where Loki is (`observability/loki:3100`, the gateway found, or a URL).
fn location(ctx: &Ctx) -> String {
    match endpoint(ctx) {
        Endpoint::Service(s) => s.to_string(),
        Endpoint::Url(u) => redact_url(&u),
    }
}

/// The command that runs one LogQL metric query against the configured Loki.
fn query_command(ctx: &Ctx, logql: &str) -> String {
    api_command(&endpoint(ctx), "/loki/api/v1/query", &[("query", logql)])
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
            .unwrap_or_else(|| Verdict::error("could not read loki").unread("loki"))),
        None => Err(Verdict::skip("not in this snapshot: Loki was not queried")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use super::{heartbeats::heartbeats, reachable::reachable, zombies::zombies};

    use crate::checks::testkit::*;

    use crate::domain::snapshot::Snapshot;

    pub(super) fn with_loki(f: impl FnOnce(&mut LokiData)) -> Snapshot {
        let mut s = healthy();
        if let Some(d) = s.loki.as_mut() {
            f(d);
        }
        s
    }

    pub(super) fn no_loki(reason: GapReason) -> Snapshot {
        let mut s = healthy();
        s.loki = None;
        gap(&mut s, "loki", reason, "services \"loki\" not found");
        s
    }

    #[test]
    fn healthy_passes() {
        crate::checks::testkit::assert_healthy_passes(crate::checks::Area::Loki);
    }

    #[test]
    fn no_loki_service_is_a_skip_everywhere() {
        let s = no_loki(GapReason::NotFound);
        for c in crate::checks::of_area(crate::checks::Area::Loki) {
            expect(
                &eval(c.eval, &s),
                Outcome::Skip,
                "no Loki at observability/loki:3100; set --loki-url",
            );
        }
    }

    #[test]
    fn loki_down_is_one_error_and_the_checks_below_it_say_blocked() {
        let s = no_loki(GapReason::Unreachable);
        let findings = crate::checks::run(
            &s,
            &crate::settings::Settings::defaults(),
            &crate::checks::Selection::default(),
        );
        let loki: Vec<_> = findings
            .iter()
            .filter(|f| f.id.starts_with("loki."))
            .collect();
        let errors: Vec<&str> = loki
            .iter()
            .filter(|f| f.outcome == Outcome::Error)
            .map(|f| f.id.as_str())
            .collect();
        assert_eq!(errors, ["loki.reachable"], "{loki:#?}");
        for id in ["loki.heartbeats", "loki.zombies"] {
            let f = loki.iter().find(|f| f.id == id).expect(id);
            assert_eq!(f.outcome, Outcome::Skip, "{f:#?}");
            assert_eq!(f.blocked_by.as_deref(), Some("loki.reachable"), "{f:#?}");
        }
        // The summary counts one error, and one source with all three checks.
        let report = crate::report::diagnose::DiagnoseReport::build(&s, findings, None);
        assert_eq!(report.summary.error, 1);
        assert_eq!(report.summary.unread_sources.len(), 1);
        assert_eq!(
            report.summary.unread_sources[0].checks,
            ["loki.reachable", "loki.heartbeats", "loki.zombies"]
        );
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
}
