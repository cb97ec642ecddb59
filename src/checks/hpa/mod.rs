//! Checks of the hpa area: the HorizontalPodAutoscaler KEDA creates for the
//! ScaledObject (`keda-hpa-<scaledobject>` unless renamed). KEDA only does
//! 0↔1; everything between 1 and max is this HPA's decision, taken from the
//! external metric `s0-prometheus` that KEDA's metrics server serves.

use super::pods::{age, events_for, quote_event, with_evidence};
use super::{Check, CheckId, Ctx, Docs, Verdict};
use crate::checks::shell_arg;
use crate::domain::figures::MetricValue;
use crate::domain::quantity::num;
use crate::domain::snapshot::{Condition, HpaInfo, HpaMetric, Lookup, condition};

pub(super) mod conditions;
pub(super) mod exists;
pub(super) mod metric;

/// The HPA is usually the runbook's `kubectl get hpa`; its describe shows
/// conditions, metrics and events together.
fn describe(ctx: &Ctx, hpa: &str) -> String {
    format!("kubectl describe hpa {} -n {}", shell_arg(hpa), ctx.ns())
}

/// KEDA's HPA, or the verdict to return when it cannot be judged.
fn keda_hpa<'a>(ctx: &Ctx<'a>) -> Result<&'a HpaInfo, Verdict> {
    let Some(hpas) = &ctx.snap.hpas else {
        return Err(ctx.not_read("hpa", "HorizontalPodAutoscalers"));
    };
    let name = ctx.snap.keda_hpa_name(&ctx.settings.scaled_object);
    hpas.iter()
        .find(|h| h.name == name)
        .ok_or_else(|| Verdict::skip(format!("no HPA {name} to look at (see hpa.exists)")))
}

/// `Reason: message` of a condition, for one-line messages.
fn quoted(c: &Condition) -> String {
    let reason = c.reason.as_deref().unwrap_or("no reason");
    match c.message.as_deref().filter(|m| !m.is_empty()) {
        Some(m) => format!("{reason}: {m}"),
        None => reason.to_string(),
    }
}

/// Metric failures older than this are history, not the current state.
const RECENT_EVENT_SECS: i64 = 300;

#[cfg(test)]
mod tests {
    use super::*;
    use super::{conditions::conditions, exists::exists, metric::metric};

    use crate::checks::Outcome;

    use crate::checks::testkit::{eval, expect, gap, healthy};

    use crate::domain::snapshot::{GapReason, PAUSED};

    pub(super) fn set_cond(s: &mut crate::domain::snapshot::Snapshot, c: Condition) {
        let hpa = &mut s.hpas.as_mut().unwrap()[0];
        hpa.conditions.retain(|x| x.type_ != c.type_);
        hpa.conditions.push(c);
    }

    #[test]
    fn healthy_passes() {
        let s = healthy();
        expect(
            &eval(exists, &s),
            Outcome::Pass,
            "keda-hpa-spice-runner-keda",
        );
        expect(&eval(conditions, &s), Outcome::Pass, "AbleToScale True");
        expect(&eval(metric, &s), Outcome::Pass, "s0-prometheus 1/1 (avg)");
    }

    #[test]
    fn exists_fails_when_missing_and_skips_when_paused() {
        let mut s = healthy();
        s.hpas = Some(vec![]);
        let v = eval(exists, &s);
        expect(&v, Outcome::Fail, "not found");
        assert_eq!(v.command.as_deref(), Some("kubectl get hpa -n default"));
        if let Some(Lookup::Found(so)) = &mut s.scaled_object {
            so.annotations.insert(PAUSED.into(), "true".into());
        }
        expect(&eval(exists, &s), Outcome::Skip, "paused");
        expect(&eval(conditions, &s), Outcome::Skip, "no HPA");
        expect(&eval(metric, &s), Outcome::Skip, "no HPA");
    }

    #[test]
    fn unread_hpas_are_an_error_with_the_hint() {
        let mut s = healthy();
        s.hpas = None;
        gap(&mut s, "hpa", GapReason::Forbidden, "cannot list hpa");
        for f in [exists, conditions, metric] {
            let v = eval(f, &s);
            expect(&v, Outcome::Error, "cannot list hpa");
            assert_eq!(v.fix.as_deref(), Some("the hint"));
        }
        // Without a gap the HPAs were not collected (a hand-made snapshot):
        // the one not_read rule makes that a skip, never a pass.
        s.gaps.clear();
        expect(&eval(exists, &s), Outcome::Skip, "not collected");
    }
}
