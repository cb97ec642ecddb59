//! `pods.startup`: Pod startup time. The check's docs, its evaluation and its
//! unit tests.

use super::*;

pub static CHECK: Check = Check {
    id: CheckId::PodsStartup,
    title: "Pod startup time",
    runbook: "Key Metrics Summary: Scale-up Time",
    needs: &[],
    reads: "pods (created, readySince)",
    docs: Docs {
        what: "Creation → Ready latency of the Ready game pods (their Ready condition's last \
               transition minus creation): median and worst against targets.scaleUp (30 s).",
        why: "The runbook's scale-up target counts from the session to a usable pod; the pod \
              part is scheduling + node launch + image pull + container start + readiness \
              probe. KEDA's detection delay (pollingInterval) comes on top.",
        fix: "Slow scheduling: nodes being added for each scale-up (pods.pending, \
              nodes.scale-up); keep spare capacity. Slow image pulls: a smaller image or \
              pre-pulled images. Slow readiness: lower the readiness probe's \
              initialDelaySeconds and periodSeconds.",
    },
    source: file!(),
    eval: startup,
};

pub(super) fn startup(ctx: &Ctx) -> Verdict {
    let pods = match game_pods(ctx) {
        Ok(p) => p,
        Err(v) => return v,
    };
    let mut lat: Vec<(i64, &PodInfo)> = pods
        .iter()
        .filter(|p| p.ready)
        .filter_map(|p| {
            let (c, r) = (p.created?, p.ready_since?);
            Some(((r.as_second() - c.as_second()).max(0), p))
        })
        .collect();
    if lat.is_empty() {
        return Verdict::skip("no Ready pods to measure");
    }
    lat.sort_by(|(a, p), (b, q)| a.cmp(b).then_with(|| p.name.cmp(&q.name)));
    let n = lat.len();
    let median = if n % 2 == 1 {
        lat[n / 2].0
    } else {
        (lat[n / 2 - 1].0 + lat[n / 2].0 + 1) / 2
    };
    let (worst, slowest) = lat[n - 1];
    let target = ctx.settings.targets.scale_up_seconds;
    let t = human_duration(target.round() as i64);
    let stats = format!(
        "median {}, worst {} (n={n})",
        human_duration(median),
        human_duration(worst)
    );
    let evidence: Vec<String> = lat
        .iter()
        .rev()
        .take(3)
        .map(|(s, p)| format!("{}: created → Ready in {}", p.name, human_duration(*s)))
        .collect();
    let fix = "Slow scheduling: a node is added for each scale-up (see pods.pending, \
               nodes.scale-up); keep spare capacity. Slow image pulls: a smaller or pre-pulled \
               image. Slow readiness: lower the readiness probe's initialDelaySeconds and \
               periodSeconds.";
    let cmd = describe_pod(ctx, &slowest.name);
    if median as f64 > target {
        return with_evidence(
            Verdict::warn(format!("pod startup {stats}: median over the {t} target")),
            evidence,
        )
        .fix(fix)
        .command(cmd);
    }
    if worst as f64 > 2.0 * target {
        return with_evidence(
            Verdict::warn(format!(
                "pod startup {stats}: worst over twice the {t} target"
            )),
            evidence,
        )
        .fix(fix)
        .command(cmd);
    }
    with_evidence(Verdict::pass(stats), evidence)
}

#[cfg(test)]
mod tests {
    use super::super::tests::*;
    use super::*;

    use crate::checks::Outcome;
    use crate::checks::testkit::{eval, expect, healthy, pending_pod};

    #[test]
    fn startup_outcomes() {
        let mut s = healthy();
        s.pods = Some(vec![pending_pod("spice-runner-7d9c8b5f4-ddddd", 10)]);
        expect(&eval(startup, &s), Outcome::Skip, "no Ready pods");

        let mut s = healthy();
        for (p, secs) in pods(&mut s).iter_mut().zip([40, 45, 50]) {
            p.ready_since = Some(p.created.unwrap() + jiff::SignedDuration::from_secs(secs));
        }
        let v = eval(startup, &s);
        expect(
            &v,
            Outcome::Warn,
            "median 45s, worst 50s (n=3): median over the 30s target",
        );
        assert_eq!(
            v.command.as_deref(),
            Some("kubectl describe pod spice-runner-7d9c8b5f4-ccccc -n default")
        );

        for (p, secs) in pods(&mut s).iter_mut().zip([18, 25, 75]) {
            p.ready_since = Some(p.created.unwrap() + jiff::SignedDuration::from_secs(secs));
        }
        expect(
            &eval(startup, &s),
            Outcome::Warn,
            "worst over twice the 30s target",
        );

        for (p, secs) in pods(&mut s).iter_mut().zip([18, 25, 12]) {
            p.ready_since = Some(p.created.unwrap() + jiff::SignedDuration::from_secs(secs));
        }
        expect(
            &eval(startup, &s),
            Outcome::Pass,
            "median 18s, worst 25s (n=3)",
        );
    }
}
