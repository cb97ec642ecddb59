//! `keda.paused`: Autoscaling is not paused. The check's docs, its evaluation and its
//! unit tests.

use super::*;
use crate::checks::shell_arg;
use crate::domain::snapshot::FORCE_ACTIVATION;

pub static CHECK: Check = Check {
    id: CheckId::KedaPaused,
    title: "Autoscaling is not paused",
    runbook: "Quick Health Checks §2",
    needs: &[CheckId::KedaScaledobject],
    reads: "scaledObject.annotations (autoscaling.keda.sh/paused*), scaledObject.conditions[Paused]",
    docs: Docs {
        what: "KEDA's pause annotations (paused, paused-replicas, paused-scale-in, paused-scale-out), read as KEDA reads them (Go strconv.ParseBool: 1 t T TRUE true True 0 f F FALSE false False; any other value counts as true), and the Paused condition.",
        why: "A full pause (paused, paused-replicas) stops the scale loop and deletes the HPA, so pods no longer follow sessions. paused-scale-in/-out also set Paused=True, but KEDA keeps the HPA and scales the other way: scale-in paused means sessions end but pods stay; scale-out paused means new sessions get no pod.",
        fix: "Remove the annotation: `kubectl annotate scaledobject <name> -n <ns> autoscaling.keda.sh/paused-` (or paused-replicas-, paused-scale-in-, paused-scale-out-).",
    },
    source: file!(),
    eval: paused,
};

/// `key=value` of a pause annotation KEDA reads as true, saying so when the
/// value is not a Go boolean (KEDA's `getBoolAnnotation` then assumes true).
fn annotation_true(so: &ScaledObjectInfo, key: &str) -> Option<String> {
    if !so.bool_annotation(key) {
        return None;
    }
    let v = so.annotations.get(key)?;
    Some(match parse_go_bool(v) {
        Some(_) => format!("{key}={v}"),
        None => format!(
            "{key}={v:?} (not a Go boolean: 1 t T TRUE true True 0 f F FALSE false False; KEDA takes any other value as true)"
        ),
    })
}

pub(super) fn paused(ctx: &Ctx) -> Verdict {
    let so = match scaled_object(ctx) {
        Ok(so) => so,
        Err(v) => return v,
    };
    let (name, ns) = (&so.name, ctx.ns());
    let look = so_jsonpath(ctx, "{.metadata.annotations}");
    let pause_cond = condition(&so.conditions, "Paused").filter(|c| c.status == "True");
    let replicas = so.annotations.get(PAUSED_REPLICAS);
    let full = annotation_true(so, PAUSED);
    if replicas.is_some() || full.is_some() {
        let mut remove = Vec::new();
        let mut what = Vec::new();
        if let Some(n) = replicas {
            remove.push(format!("{PAUSED_REPLICAS}-"));
            // KEDA parses the count with strconv.ParseInt(v, 10, 32) after it
            // has paused, so a bad value leaves it paused and erroring
            // (kedacore/keda v2.20.2 controllers/keda/scaledobject_controller.go).
            what.push(match n.parse::<i32>() {
                Ok(_) => format!("{PAUSED_REPLICAS}={n} (held at {n} replicas)"),
                Err(_) => format!(
                    "{PAUSED_REPLICAS}={n:?}, which is not an integer: KEDA reports \"failed to parse paused replica count\" on every reconcile and leaves the replicas where they were"
                ),
            });
        }
        if let Some(v) = full {
            remove.push(format!("{PAUSED}-"));
            what.push(v);
        }
        let mut v = Verdict::fail(format!(
            "autoscaling is paused by {}: scaling stopped and KEDA deleted the HPA",
            what.join(" and ")
        ))
        .fix(format!(
            "kubectl annotate scaledobject {} -n {ns} {}",
            shell_arg(name),
            remove.join(" ")
        ))
        .command(look);
        if let Some(c) = pause_cond {
            v = v.evidence(cond_text(c));
        }
        return v;
    }
    if so.one_way_paused() {
        return one_way_pause(ctx, so, pause_cond, look);
    }
    if let Some(c) = pause_cond {
        return Verdict::fail(format!(
            "ScaledObject {name} is paused ({}) with no pause annotation left: KEDA has not reconciled its removal",
            cond_text(c)
        ))
        .fix(format!(
            "kubectl annotate scaledobject {} -n {ns} {PAUSED}- ; if Paused stays True, check that the KEDA operator is running (keda.operator)",
            shell_arg(name)
        ))
        .command(look);
    }
    if ctx.figures.scaling.force_activation {
        // Not a pause, the opposite: KEDA (≥ 2.18) holds the ScaledObject
        // active whatever the triggers say, so it never scales to zero.
        let mut v = Verdict::warn(format!(
            "ScaledObject {name} is not paused, but {FORCE_ACTIVATION} is set: KEDA holds it Active with no traffic, so pods never go to zero"
        ))
        .fix(format!(
            "kubectl annotate scaledobject {} -n {ns} {FORCE_ACTIVATION}- (when the forced activation is over; cooldownPeriod does not apply while it is set)",
            shell_arg(name)
        ))
        .command(look);
        if let Some(m) = ctx.figures.scaling.active_message() {
            v = v.evidence(m);
        }
        return v;
    }
    Verdict::pass(format!("ScaledObject {name} is not paused"))
}

/// `paused-scale-in` / `paused-scale-out`: KEDA sets Paused=True but keeps
/// its scale loop and the HPA, and disables only that direction on the HPA
/// (kedacore/keda v2.20.2 `controllers/keda/hpa.go`, `scaledobject_controller.go`).
fn one_way_pause(
    ctx: &Ctx,
    so: &ScaledObjectInfo,
    pause_cond: Option<&Condition>,
    look: String,
) -> Verdict {
    let mut what = Vec::new();
    let mut remove = Vec::new();
    let mut values = Vec::new();
    if let Some(v) = annotation_true(so, PAUSED_SCALE_OUT) {
        what.push("scale-out is paused: new sessions get no pods");
        remove.push(format!("{PAUSED_SCALE_OUT}-"));
        values.push(v);
    }
    if let Some(v) = annotation_true(so, PAUSED_SCALE_IN) {
        what.push("scale-in is paused: sessions end but pods stay");
        remove.push(format!("{PAUSED_SCALE_IN}-"));
        values.push(v);
    }
    let mut v = Verdict::warn(format!(
        "{} ({}); KEDA keeps the HPA and still scales the other way",
        what.join("; "),
        values.join(", ")
    ))
    .evidence("KEDA sets the HPA's behavior selectPolicy to Disabled in the paused direction; the scale loop and the triggers keep running, so keda.active is still judged")
    .fix(format!(
        "kubectl annotate scaledobject {} -n {} {}",
        shell_arg(&so.name),
        ctx.ns(),
        remove.join(" ")
    ))
    .command(look);
    if let Some(c) = pause_cond {
        v = v.evidence(format!(
            "{}: KEDA marks a one-direction pause with the same Paused condition as a full pause",
            cond_text(c)
        ));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;

    use crate::checks::testkit::*;

    #[test]
    fn not_paused_passes_and_paused_false_is_not_a_pause() {
        expect(&eval(paused, &healthy()), Outcome::Pass, "not paused");
        let mut s = healthy();
        so_mut(&mut s)
            .annotations
            .insert(PAUSED.into(), "false".into());
        expect(&eval(paused, &s), Outcome::Pass, "not paused");
    }

    #[test]
    fn paused_annotation_fails_with_the_annotate_fix() {
        let mut s = healthy();
        pause_by(&mut s, PAUSED, "true");
        let v = eval(paused, &s);
        expect(&v, Outcome::Fail, "KEDA deleted the HPA");
        assert_eq!(
            v.fix.as_deref(),
            Some(
                "kubectl annotate scaledobject spice-runner-keda -n default autoscaling.keda.sh/paused-"
            )
        );
    }

    /// KEDA reads its pause annotations with Go's strconv.ParseBool and takes
    /// anything that is not a Go boolean as true (v2.20.2 getBoolAnnotation).
    #[test]
    fn pause_annotations_parse_like_go_and_other_values_count_as_true() {
        for yes in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(parse_go_bool(yes), Some(true), "{yes}");
        }
        for no in ["0", "f", "F", "FALSE", "false", "False"] {
            assert_eq!(parse_go_bool(no), Some(false), "{no}");
        }
        for odd in ["yes", "FaLsE", " false", "", "on"] {
            assert_eq!(parse_go_bool(odd), None, "{odd:?}");
        }
        for (value, outcome, says) in [
            ("0", Outcome::Pass, "not paused"),
            ("F", Outcome::Pass, "not paused"),
            ("T", Outcome::Fail, "autoscaling.keda.sh/paused=T"),
            ("FaLsE", Outcome::Fail, "not a Go boolean"),
        ] {
            let mut s = healthy();
            so_mut(&mut s)
                .annotations
                .insert(PAUSED.into(), value.into());
            let v = eval(paused, &s);
            expect(&v, outcome, says);
            if outcome == Outcome::Fail {
                assert!(v.message.contains("KEDA deleted the HPA"), "{}", v.message);
            }
        }
        let mut s = healthy();
        so_mut(&mut s)
            .annotations
            .insert(PAUSED_SCALE_IN.into(), "no".into());
        let v = eval(paused, &s);
        expect(&v, Outcome::Warn, "sessions end but pods stay");
        assert!(
            v.message.contains("KEDA takes any other value as true"),
            "{}",
            v.message
        );
        so_mut(&mut s)
            .annotations
            .insert(PAUSED_SCALE_IN.into(), "0".into());
        expect(&eval(paused, &s), Outcome::Pass, "not paused");
    }

    #[test]
    fn paused_replicas_that_is_not_a_count_says_keda_errors() {
        let mut s = healthy();
        pause_by(&mut s, PAUSED_REPLICAS, "two");
        let v = eval(paused, &s);
        expect(&v, Outcome::Fail, "failed to parse paused replica count");
        assert!(v.message.contains("KEDA deleted the HPA"), "{}", v.message);
    }

    #[test]
    fn paused_replicas_fails() {
        let mut s = healthy();
        so_mut(&mut s)
            .annotations
            .insert(PAUSED_REPLICAS.into(), "2".into());
        let v = eval(paused, &s);
        expect(&v, Outcome::Fail, "held at 2 replicas");
        assert!(
            v.fix
                .unwrap()
                .contains("autoscaling.keda.sh/paused-replicas-")
        );
    }

    #[test]
    fn paused_condition_without_annotation_fails() {
        let mut s = healthy();
        set_cond(
            &mut s,
            cond(
                "Paused",
                "True",
                "ScaledObjectPaused",
                "ScaledObject is paused",
            ),
        );
        expect(&eval(paused, &s), Outcome::Fail, "no pause annotation left");
    }

    #[test]
    fn one_direction_pause_warns() {
        let mut s = healthy();
        pause_by(&mut s, PAUSED_SCALE_IN, "true");
        let v = eval(paused, &s);
        expect(&v, Outcome::Warn, "scale-in is paused");
        assert!(
            v.fix
                .unwrap()
                .ends_with("autoscaling.keda.sh/paused-scale-in-")
        );
        let mut s = healthy();
        so_mut(&mut s)
            .annotations
            .insert(PAUSED_SCALE_OUT.into(), "true".into());
        expect(&eval(paused, &s), Outcome::Warn, "scale-out is paused");
        assert!(!so_mut(&mut s).paused(), "a one-way pause is not a pause");
    }

    #[test]
    fn force_activation_is_not_a_pause_but_is_named_with_the_active_message() {
        let mut s = healthy();
        so_mut(&mut s).annotations.insert(
            crate::domain::snapshot::FORCE_ACTIVATION.into(),
            "true".into(),
        );
        so_mut(&mut s).conditions = vec![cond(
            "Active",
            "True",
            "ScalerActive",
            "Scaling is performed because triggers are active",
        )];
        let v = eval(paused, &s);
        expect(&v, Outcome::Warn, "force-activation is set");
        assert!(
            v.evidence
                .iter()
                .any(|e| e.contains("Active=True") && e.contains("triggers are active")),
            "{v:#?}"
        );
        assert!(v.fix.unwrap_or_default().contains("force-activation-"));
    }
}
