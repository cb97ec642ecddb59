//! `loki.reachable`: Loki answers. The check's docs, its evaluation and its
//! unit tests.

use super::*;

pub static CHECK: Check = Check {
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
};

pub(super) fn reachable(ctx: &Ctx) -> Verdict {
    match loki_data(ctx) {
        Ok(_) => Verdict::pass(format!("Loki answers at {}", location(ctx))),
        Err(v) if v.outcome == Outcome::Error => {
            v.command(api_command(&super::endpoint(ctx), "/ready", &[]))
        }
        Err(v) => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::checks::testkit::*;

    #[test]
    fn reachable_passes_with_where() {
        expect(
            &eval(reachable, &healthy()),
            Outcome::Pass,
            "Loki answers at observability/loki:3100",
        );
    }

    #[test]
    fn loki_not_queried_is_a_skip() {
        let mut s = healthy();
        s.loki = None;
        expect(&eval(reachable, &s), Outcome::Skip, "not in this snapshot");
    }
}
