//! `keda.activation-threshold`: One session activates scaling from zero. The check's docs, its evaluation and its
//! unit tests.

use super::*;

pub static CHECK: Check = Check {
    id: CheckId::KedaActivationThreshold,
    title: "One session activates scaling from zero",
    runbook: "Scaling Too Slow, Check 1",
    needs: &[CheckId::KedaTrigger],
    reads: "scaledObject.triggers (metadata.activationThreshold, metadata.query), scaledObject.minReplicaCount, settings targets.heartbeatPerSession",
    docs: Docs {
        what: "activationThreshold against what one session adds to the trigger query (~1 req/s for the nginx request rate, ~0.2/s for a heartbeat rate).",
        why: "KEDA activates only when value > activationThreshold (strictly): a threshold at or above one session's contribution never scales 0→1 for a single player.",
        fix: "Keep activationThreshold well below one session's contribution: 0.2 for the nginx request rate (runbook: 0.2 → 0.1 when too slow), below 0.1 for a heartbeat rate.",
    },
    source: file!(),
    eval: activation_threshold,
};

/// Whether the trigger query counts heartbeats rather than requests.
fn is_heartbeat_query(query: &str) -> bool {
    let q = query.to_ascii_lowercase();
    q.contains("heartbeat") || q.contains("faro_receiver_events_total")
}

pub(super) fn activation_threshold(ctx: &Ctx) -> Verdict {
    let so = match scaled_object(ctx) {
        Ok(so) => so,
        Err(v) => return v,
    };
    let Some(t) = so.prometheus_trigger() else {
        return Verdict::skip("no prometheus trigger (see keda.trigger)");
    };
    let cmd = so_jsonpath(ctx, "{.spec.triggers[?(@.type==\"prometheus\")].metadata}");
    let (a, source) = match t.metadata.get("activationThreshold") {
        None => (KEDA_DEFAULT_ACTIVATION_THRESHOLD, " (unset, KEDA default)"),
        Some(raw) => match raw.trim().parse::<f64>() {
            Ok(v) => (v, ""),
            Err(_) => {
                return Verdict::fail(format!(
                    "activationThreshold {raw:?} is not a number: KEDA cannot build the scaler"
                ))
                .fix("set metadata.activationThreshold: \"0.2\"")
                .command(cmd);
            }
        },
    };
    let heartbeat = t
        .metadata
        .get("query")
        .is_some_and(|q| is_heartbeat_query(q));
    let (per, unit) = if heartbeat {
        (ctx.settings.targets.heartbeat_per_session, "heartbeats/s")
    } else {
        (1.0, "req/s")
    };
    let arithmetic = format!(
        "one session adds ≈ {} {unit} to the trigger query; KEDA activates 0→1 when value > activationThreshold {}{source}: {} > {} is {}",
        num(per),
        num(a),
        num(per),
        num(a),
        per > a
    );
    let min = so.min_replicas_or_default();
    if min >= 1 {
        return Verdict::pass(format!(
            "activationThreshold {} is ignored: minReplicaCount {min} ≥ 1 keeps KEDA active",
            num(a)
        ))
        .evidence(arithmetic);
    }
    let suggest = num(per * 0.2);
    if a >= per {
        return Verdict::fail(format!(
            "activationThreshold {} ≥ one session's ≈ {} {unit}: a single session never scales from zero (activation is value > threshold)",
            num(a),
            num(per)
        ))
        .evidence(arithmetic)
        .fix(format!(
            "set metadata.activationThreshold below one session's contribution, e.g. \"{suggest}\""
        ))
        .command(cmd);
    }
    if a >= 0.5 * per {
        return Verdict::warn(format!(
            "activationThreshold {} is at least half of one session's ≈ {} {unit}: a session's rate dipping in the window misses activation",
            num(a),
            num(per)
        ))
        .evidence(arithmetic)
        .fix(format!(
            "lower metadata.activationThreshold to about \"{suggest}\" (runbook Scaling Too Slow: 0.2 → 0.1)"
        ))
        .command(cmd);
    }
    if a < 0.0 {
        return Verdict::warn(format!(
            "activationThreshold {} is negative: KEDA is always active and never scales to zero",
            num(a)
        ))
        .evidence(arithmetic)
        .fix(format!("set metadata.activationThreshold: \"{suggest}\""))
        .command(cmd);
    }
    Verdict::pass(format!(
        "activationThreshold {}{source} < one session's ≈ {} {unit}: one session activates",
        num(a),
        num(per)
    ))
    .evidence(arithmetic)
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;

    use crate::checks::testkit::*;

    #[test]
    fn runbook_activation_threshold_passes_with_arithmetic() {
        let v = eval(activation_threshold, &healthy());
        expect(&v, Outcome::Pass, "activationThreshold 0.2");
        assert!(
            v.evidence[0].contains("1 > 0.2 is true"),
            "{:#?}",
            v.evidence
        );
        let mut s = healthy();
        trig_mut(&mut s).metadata.remove("activationThreshold");
        expect(
            &eval(activation_threshold, &s),
            Outcome::Pass,
            "unset, KEDA default",
        );
    }

    #[test]
    fn activation_threshold_of_one_session_or_more_fails() {
        let mut s = healthy();
        trig_mut(&mut s)
            .metadata
            .insert("activationThreshold".into(), "1".into());
        let v = eval(activation_threshold, &s);
        expect(&v, Outcome::Fail, "never scales from zero");
        assert!(v.fix.unwrap().contains("\"0.2\""));
        trig_mut(&mut s)
            .metadata
            .insert("activationThreshold".into(), "0.5".into());
        expect(
            &eval(activation_threshold, &s),
            Outcome::Warn,
            "at least half",
        );
        trig_mut(&mut s)
            .metadata
            .insert("activationThreshold".into(), "-1".into());
        expect(&eval(activation_threshold, &s), Outcome::Warn, "negative");
        trig_mut(&mut s)
            .metadata
            .insert("activationThreshold".into(), "lots".into());
        expect(
            &eval(activation_threshold, &s),
            Outcome::Fail,
            "not a number",
        );
    }

    #[test]
    fn heartbeat_query_with_the_runbook_threshold_never_activates() {
        let mut s = healthy();
        set_query(
            &mut s,
            r#"sum(rate(faro_receiver_events_total{app="spice"}[1m]))"#,
        );
        let v = eval(activation_threshold, &s);
        expect(&v, Outcome::Fail, "0.2 heartbeats/s");
        trig_mut(&mut s)
            .metadata
            .insert("activationThreshold".into(), "0.02".into());
        expect(
            &eval(activation_threshold, &s),
            Outcome::Pass,
            "one session activates",
        );
    }

    #[test]
    fn activation_threshold_is_moot_with_min_replicas_and_skips_without_trigger() {
        let mut s = healthy();
        trig_mut(&mut s)
            .metadata
            .insert("activationThreshold".into(), "5".into());
        so_mut(&mut s).min_replicas = Some(1);
        expect(&eval(activation_threshold, &s), Outcome::Pass, "ignored");
        so_mut(&mut s).triggers.clear();
        expect(
            &eval(activation_threshold, &s),
            Outcome::Skip,
            "no prometheus trigger",
        );
    }
}
