//! `keda.operator`: KEDA operator is running. The check's docs, its evaluation and its
//! unit tests.

use super::*;

pub static CHECK: Check = Check {
    id: CheckId::KedaOperator,
    title: "KEDA operator is running",
    runbook: "Kubectl Monitoring Commands: Monitor KEDA Decision Making",
    needs: &[CheckId::KedaInstalled],
    reads: "operatorPods, gaps[keda-operator]",
    docs: Docs {
        what: "The KEDA operator pods (kedaNamespace, kedaOperatorSelector) are Running and Ready.",
        why: "The operator polls the trigger and scales 0↔1; without it a ScaledObject is inert.",
        fix: "Read the operator's logs (`kubectl logs -n keda <pod> --previous`) and fix what stops it; set kedaNamespace/kedaOperatorSelector if KEDA runs elsewhere.",
    },
    source: file!(),
    eval: operator,
};

pub(super) fn operator(ctx: &Ctx) -> Verdict {
    keda_pods(
        ctx,
        KedaPods {
            pods: ctx.snap.operator_pods.as_ref(),
            source: "keda-operator",
            what: "KEDA operator",
            selector: keda_operator_selector(ctx),
            none_fix: "install KEDA, or set kedaNamespace / kedaOperatorSelector to where its operator runs (`kubectl get pods -A -l app=keda-operator`)",
            down: "without the operator nothing scales",
            some_fix: "look at the pods that are not Ready (a stuck rollout or a crash loop); the leader among the Ready ones keeps scaling",
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::checks::testkit::*;
    use crate::domain::snapshot::GapReason;

    #[test]
    fn operator_running_passes() {
        expect(
            &eval(operator, &healthy()),
            Outcome::Pass,
            "1/1 KEDA operator pods",
        );
    }

    #[test]
    fn no_operator_pods_fails_with_the_selector() {
        let mut s = healthy();
        s.operator_pods = Some(vec![]);
        let v = eval(operator, &s);
        expect(&v, Outcome::Fail, "no KEDA operator pods in namespace keda");
        assert_eq!(
            v.command.as_deref(),
            Some("kubectl get pods -n keda -l app.kubernetes.io/name=keda-operator")
        );
    }

    #[test]
    fn crash_looping_operator_fails_and_partly_ready_warns() {
        let mut s = healthy();
        let pods = s.operator_pods.as_mut().unwrap();
        pods[0].ready = false;
        pods[0].containers[0].waiting_reason = Some("CrashLoopBackOff".into());
        let v = eval(operator, &s);
        expect(&v, Outcome::Fail, "CrashLoopBackOff");

        let mut s = healthy();
        let mut second = s.operator_pods.as_ref().unwrap()[0].clone();
        second.name = "keda-operator-6b8f9d7c5d-zzzzz".into();
        second.ready = false;
        s.operator_pods.as_mut().unwrap().push(second);
        expect(&eval(operator, &s), Outcome::Warn, "1/2");
    }

    #[test]
    fn operator_not_read_is_error_or_skip() {
        let mut s = healthy();
        s.operator_pods = None;
        gap(
            &mut s,
            "keda-operator",
            GapReason::Forbidden,
            "pods is forbidden",
        );
        expect(&eval(operator, &s), Outcome::Error, "forbidden");
        let mut s = healthy();
        s.operator_pods = None;
        expect(&eval(operator, &s), Outcome::Skip, "not collected");
    }
}
