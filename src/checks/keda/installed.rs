//! `keda.installed`: KEDA is installed. The check's docs, its evaluation and its
//! unit tests.

use super::*;

pub static CHECK: Check = Check {
    id: CheckId::KedaInstalled,
    title: "KEDA is installed",
    runbook: "Quick Health Checks §2",
    needs: &[],
    reads: "apis.keda, gaps[scaledobject], gaps[discovery], scaledObject",
    docs: Docs {
        what: "Whether the cluster serves the keda.sh API (the ScaledObject CRD).",
        why: "Without KEDA nothing turns sessions into pods; every other KEDA check would only repeat that.",
        fix: "Install KEDA (Helm chart kedacore/keda into namespace keda), or switch to the cluster that runs the game.",
    },
    source: file!(),
    eval: installed,
};

pub(super) fn installed(ctx: &Ctx) -> Verdict {
    let snap = ctx.snap;
    let so_gap = snap.gap("scaledobject");
    let not_installed = snap.apis.keda == Some(false)
        || so_gap.is_some_and(|g| g.reason == GapReason::NotInstalled);
    match &snap.scaled_object {
        Some(Lookup::Found(_)) => {
            return Verdict::pass(format!(
                "keda.sh is served (ScaledObject {} read)",
                ctx.settings.scaled_object
            ));
        }
        Some(Lookup::Missing) if !not_installed => {
            return Verdict::pass(
                "keda.sh is served (the ScaledObject lookup answered \"not found\", not \"no such resource\")",
            );
        }
        _ => {}
    }
    if not_installed {
        let mut v = Verdict::fail("the cluster does not serve keda.sh: KEDA is not installed")
            .fix("install KEDA (Helm chart kedacore/keda into namespace keda), or switch to the cluster that runs the game")
            .command("kubectl api-resources --api-group=keda.sh");
        if let Some(g) = so_gap {
            v = v.evidence(format!("scaledobject: {}", g.message));
        }
        return v;
    }
    if snap.apis.keda == Some(true) {
        return Verdict::pass("keda.sh is served");
    }
    // Discovery did not say, and the ScaledObject read did not tell either.
    match ctx.gap_verdict("discovery") {
        Some(v) => {
            let v = Verdict {
                message: format!("cannot tell whether KEDA is installed: {}", v.message),
                ..v
            };
            match so_gap {
                Some(g) => v.evidence(format!("scaledobject: {} ({})", g.message, g.reason)),
                None => v,
            }
        }
        None => match so_gap {
            Some(_) => {
                let v = ctx
                    .gap_verdict("scaledobject")
                    .expect("a gap was just found");
                Verdict {
                    message: format!("cannot tell whether KEDA is installed: {}", v.message),
                    ..v
                }
            }
            None => Verdict::skip("API discovery and the ScaledObject were not collected"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::checks::testkit::*;
    use crate::domain::snapshot::{GapReason, Lookup};

    #[test]
    fn installed_passes_when_served_or_when_the_scaledobject_was_read() {
        let s = healthy();
        expect(&eval(installed, &s), Outcome::Pass, "keda.sh is served");
        let mut s = healthy();
        s.apis.keda = None;
        gap(
            &mut s,
            "discovery",
            GapReason::Forbidden,
            "cannot list apis",
        );
        expect(&eval(installed, &s), Outcome::Pass, "read");
        s.scaled_object = Some(Lookup::Missing);
        expect(&eval(installed, &s), Outcome::Pass, "not found");
    }

    #[test]
    fn installed_fails_with_install_hint_when_not_served() {
        let mut s = healthy();
        s.apis.keda = Some(false);
        s.scaled_object = None;
        let v = eval(installed, &s);
        expect(&v, Outcome::Fail, "KEDA is not installed");
        assert!(v.fix.as_deref().unwrap().contains("install KEDA"));
        assert_eq!(
            v.command.as_deref(),
            Some("kubectl api-resources --api-group=keda.sh")
        );

        let mut s = healthy();
        s.apis.keda = None;
        s.scaled_object = None;
        gap(
            &mut s,
            "scaledobject",
            GapReason::NotInstalled,
            "the cluster does not serve scaledobjects.keda.sh",
        );
        expect(&eval(installed, &s), Outcome::Fail, "not installed");
    }

    #[test]
    fn installed_is_an_error_when_discovery_failed_and_nothing_else_tells() {
        let mut s = healthy();
        s.apis.keda = None;
        s.scaled_object = None;
        gap(
            &mut s,
            "discovery",
            GapReason::Timeout,
            "get apis took too long",
        );
        gap(
            &mut s,
            "scaledobject",
            GapReason::Forbidden,
            "scaledobjects is forbidden",
        );
        let v = eval(installed, &s);
        expect(&v, Outcome::Error, "cannot tell whether KEDA is installed");
        assert_eq!(v.fix.as_deref(), Some("the hint"));

        let mut s = healthy();
        s.apis.keda = None;
        s.scaled_object = None;
        gap(
            &mut s,
            "scaledobject",
            GapReason::Forbidden,
            "scaledobjects is forbidden",
        );
        expect(&eval(installed, &s), Outcome::Error, "forbidden");

        let mut s = healthy();
        s.apis.keda = None;
        s.scaled_object = None;
        expect(&eval(installed, &s), Outcome::Skip, "not collected");
    }
}
