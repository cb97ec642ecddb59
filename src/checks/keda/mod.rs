//! Checks of the keda area: is KEDA installed and running, does the
//! ScaledObject exist, point at the Deployment, query the sessions the right
//! way, and are its timings able to meet the runbook's targets.
//!
//! KEDA facts (defaults, conditions, events, log lines) are from
//! `notes/keda-prometheus-facts.md` §1; where the runbook is wrong (§8) the
//! checks say so instead of repeating it.

use super::{Check, CheckId, Ctx, Docs, Outcome, Verdict};
use crate::checks::shell_arg;
use crate::domain::figures::HPA_SYNC_SECS;
use crate::domain::promql;
use crate::domain::snapshot::{
    Condition, GapReason, KEDA_DEFAULT_ACTIVATION_THRESHOLD, KEDA_DEFAULT_MAX_REPLICAS,
    KEDA_DEFAULT_POLLING_INTERVAL, Lookup, PAUSED, PAUSED_REPLICAS, PAUSED_SCALE_IN,
    PAUSED_SCALE_OUT, ScaledObjectInfo, TriggerInfo, condition, parse_go_bool,
};
use crate::keda_log;
use crate::settings::Endpoint;
use jiff::Timestamp;

pub(super) mod activation_threshold;
pub(super) mod active;
pub(super) mod cooldown;
pub(super) mod events;
pub(super) mod fallback;
pub(super) mod installed;
pub(super) mod max_replicas;
pub(super) mod metrics_apiserver;
pub(super) mod min_replicas;
pub(super) mod operator;
pub(super) mod operator_logs;
pub(super) mod paused;
pub(super) mod polling_interval;
pub(super) mod query_shape;
pub(super) mod ready;
pub(super) mod scaledobject;
pub(super) mod trigger;

// ---------------------------------------------------------------------------
// Shared helpers

/// Warning events newer than this are a current problem.
const RECENT_EVENT_SECS: i64 = 15 * 60;

/// Quoted log lines and event messages are cut here.
const QUOTE_CHARS: usize = 200;

/// The ScaledObject, or the verdict for a check that cannot look at it.
fn scaled_object<'a>(ctx: &Ctx<'a>) -> Result<&'a ScaledObjectInfo, Verdict> {
    match &ctx.snap.scaled_object {
        Some(Lookup::Found(so)) => Ok(so),
        Some(Lookup::Missing) => Err(Verdict::skip(format!(
            "no ScaledObject {} in namespace {} (see keda.scaledobject)",
            ctx.settings.scaled_object,
            ctx.ns()
        ))),
        None => Err(match ctx.snap.gap("scaledobject") {
            Some(g) if g.reason == GapReason::NotInstalled => {
                Verdict::skip(format!("KEDA is not installed: {}", g.message))
            }
            Some(_) => ctx
                .gap_verdict("scaledobject")
                .expect("a gap was just found"),
            None => Verdict::skip("the ScaledObject was not collected"),
        }),
    }
}

fn describe_so(ctx: &Ctx) -> String {
    format!(
        "kubectl describe scaledobject {} -n {}",
        shell_arg(&ctx.settings.scaled_object),
        ctx.ns()
    )
}

fn so_jsonpath(ctx: &Ctx, path: &str) -> String {
    format!(
        "kubectl get scaledobject {} -n {} -o jsonpath={}",
        shell_arg(&ctx.settings.scaled_object),
        ctx.ns(),
        shell_arg(path)
    )
}

/// `3`, `2.5`, `0.25`: no trailing zeros.
fn num(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// `45s`, `12m`, `3h` before the snapshot was taken.
fn age(now: Timestamp, then: Timestamp) -> String {
    let secs = (now.as_second() - then.as_second()).max(0);
    if secs < 120 {
        format!("{secs}s")
    } else if secs < 2 * 3600 {
        format!("{}m", secs / 60)
    } else {
        format!("{}h", secs / 3600)
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}…")
    }
}

fn cond_text(c: &Condition) -> String {
    let mut out = format!("{}={}", c.type_, c.status);
    match (c.reason.as_deref(), c.message.as_deref()) {
        (Some(r), Some(m)) if !r.is_empty() && !m.is_empty() => {
            out.push_str(&format!(" ({r}: {m})"))
        }
        (Some(r), _) if !r.is_empty() => out.push_str(&format!(" ({r})")),
        (_, Some(m)) if !m.is_empty() => out.push_str(&format!(" ({m})")),
        _ => {}
    }
    out
}

/// A problem one check found; several combine into one verdict.
struct Issue {
    outcome: Outcome,
    message: String,
    fix: String,
}

impl Issue {
    fn fail(message: impl Into<String>, fix: impl Into<String>) -> Issue {
        Issue {
            outcome: Outcome::Fail,
            message: message.into(),
            fix: fix.into(),
        }
    }
    fn warn(message: impl Into<String>, fix: impl Into<String>) -> Issue {
        Issue {
            outcome: Outcome::Warn,
            message: message.into(),
            fix: fix.into(),
        }
    }
}

/// The worst issue's outcome, failures named first; `pass` when there is none.
fn combine(issues: Vec<Issue>, pass: String, evidence: Vec<String>, command: String) -> Verdict {
    let mut issues = issues;
    super::worst_first(&mut issues, |i| i.outcome);
    let mut v = match issues.first().map(|i| i.outcome) {
        None => Verdict::pass(pass),
        Some(o) => {
            let message = issues
                .iter()
                .map(|i| i.message.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            let fix = issues
                .iter()
                .map(|i| i.fix.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            let v = if o == Outcome::Fail {
                Verdict::fail(message)
            } else {
                Verdict::warn(message)
            };
            v.fix(fix).command(command)
        }
    };
    for e in evidence {
        v = v.evidence(e);
    }
    v
}

/// What to change for a scaler error, from its text.
fn scaler_error_fix(text: &str) -> String {
    let t = text.to_ascii_lowercase();
    if t.contains("returned multiple elements") {
        "the trigger query returns several series: wrap it in sum(...) so it returns one element"
            .into()
    } else if t.contains("connection refused")
        || t.contains("no such host")
        || t.contains("dial tcp")
        || t.contains("i/o timeout")
        || t.contains("deadline exceeded")
    {
        "the trigger's serverAddress does not reach Prometheus from the KEDA operator: fix metadata.serverAddress (http://<svc>.<ns>.svc:<port>) or the network policy".into()
    } else if t.contains("status: 400") || t.contains("bad_data") || t.contains("parse error") {
        "Prometheus rejects the trigger query: test it in the Prometheus UI and fix its syntax"
            .into()
    } else if t.contains("status: 401") || t.contains("status: 403") {
        "Prometheus refuses KEDA's credentials: fix the trigger's authenticationRef / authModes"
            .into()
    } else {
        "fix what the quoted error names (trigger serverAddress, query, authentication)".into()
    }
}

// ---------------------------------------------------------------------------
// A small PromQL reader: enough to tell whether a query returns one element.

/// The sessions Prometheus reports, or why they are unknown.
fn sessions(ctx: &Ctx) -> Result<f64, String> {
    if let Some(v) = ctx.snap.prom_value(promql::SESSIONS) {
        return Ok(v);
    }
    Err(match ctx.snap.prometheus.get(promql::SESSIONS) {
        Some(a) if a.error.is_some() => format!(
            "the sessions query failed: {}",
            a.error.as_deref().unwrap_or_default()
        ),
        Some(a) if a.samples.as_ref().is_some_and(Vec::is_empty) => {
            "the sessions query matched no series".to_string()
        }
        Some(_) => "the sessions query did not return one value".to_string(),
        None => match ctx.snap.gap("prometheus") {
            Some(g) => format!("Prometheus was not read: {} ({})", g.message, g.reason),
            None => "the sessions query was not run".to_string(),
        },
    })
}

// ---------------------------------------------------------------------------
// The checks

/// The namespace KEDA's pods were read in: where the collect step found
/// them, else the setting (an older snapshot).
pub(super) fn keda_namespace<'a>(ctx: &'a Ctx) -> &'a str {
    match &ctx.snap.keda_found {
        Some(f) => &f.namespace,
        None => &ctx.settings.keda_namespace,
    }
}

/// The selector KEDA's operator pods were read with (see [`keda_namespace`]).
pub(super) fn keda_operator_selector<'a>(ctx: &'a Ctx) -> &'a str {
    match &ctx.snap.keda_found {
        Some(f) => &f.operator_selector,
        None => &ctx.settings.keda_operator_selector,
    }
}

/// The selector KEDA's metrics server pods were read with.
pub(super) fn keda_metrics_apiserver_selector<'a>(ctx: &'a Ctx) -> &'a str {
    match &ctx.snap.keda_found {
        Some(f) => &f.metrics_apiserver_selector,
        None => &ctx.settings.keda_metrics_apiserver_selector,
    }
}

/// One of KEDA's Deployments, as its pods' verdict needs it.
struct KedaPods<'a> {
    pods: Option<&'a Vec<crate::domain::snapshot::PodInfo>>,
    /// The gap source of the pod list.
    source: &'static str,
    what: &'static str,
    selector: &'a str,
    /// The fix when no pod matches the selector.
    none_fix: &'static str,
    /// What stops working while no pod is Ready.
    down: &'static str,
    /// The fix when some, not all, pods are Ready.
    some_fix: &'static str,
}

/// Running-and-Ready verdict over a KEDA component's pods, each pod quoted.
fn keda_pods(ctx: &Ctx, k: KedaPods) -> Verdict {
    let Some(pods) = k.pods else {
        return ctx.not_read(k.source, &format!("the {} pods were", k.what));
    };
    let ns = keda_namespace(ctx);
    let cmd = format!("kubectl get pods -n {ns} -l {}", shell_arg(k.selector));
    if pods.is_empty()
        && let Some(found) = &ctx.snap.keda_found
        && found.how == crate::domain::snapshot::KedaHow::NotFound
    {
        // Nothing of KEDA anywhere the plugin looked: the plugin does not
        // know where KEDA runs, which is not a fault of KEDA's.
        return Verdict::error(format!(
            "KEDA's pods not found in {}; set kedaNamespace",
            found.searched.join(", ")
        ))
        .fix("set kedaNamespace (and kedaOperatorSelector / kedaMetricsApiserverSelector) to where KEDA's pods run: `kubectl get pods -A -l app=keda-operator` or `-l app.kubernetes.io/name=keda-operator` finds them")
        .command("kubectl get apiservice v1beta1.external.metrics.k8s.io -o jsonpath='{.spec.service}'");
    }
    if pods.is_empty() {
        return Verdict::fail(format!(
            "no {} pods in namespace {ns} with labels {}",
            k.what, k.selector
        ))
        .fix(k.none_fix)
        .command(cmd);
    }
    let is_ready = |p: &&crate::domain::snapshot::PodInfo| {
        p.phase == "Running" && p.ready && p.deleting.is_none()
    };
    let ready_count = pods.iter().filter(is_ready).count();
    let mut v = if ready_count == 0 {
        let first = &pods[0];
        Verdict::fail(format!(
            "0/{} {} pods Ready ({}: {}, {} restarts)",
            pods.len(),
            k.what,
            first.name,
            first.display_status(),
            first.restarts
        ))
        .fix(format!(
            "read why it stops (`kubectl logs -n {ns} {} --previous`, `kubectl describe pod -n {ns} {}`) and fix it; {}",
            shell_arg(&first.name),
            shell_arg(&first.name),
            k.down
        ))
        .command(cmd)
    } else if ready_count < pods.len() {
        Verdict::warn(format!(
            "{ready_count}/{} {} pods Ready",
            pods.len(),
            k.what
        ))
        .fix(k.some_fix)
        .command(cmd)
    } else {
        Verdict::pass(format!(
            "{ready_count}/{} {} pods Running and Ready",
            pods.len(),
            k.what
        ))
    };
    for p in pods {
        v = v.evidence(format!(
            "{} {} ready={} restarts={}",
            p.name,
            p.display_status(),
            p.ready,
            p.restarts
        ));
    }
    v
}

const LOG_ERROR_PATTERNS: &[&str] = &[
    "error executing prometheus query",
    "prometheus query api returned error",
    "error getting scale decision",
    "returned multiple elements",
];

fn is_scaler_error(line: &str) -> bool {
    let low = line.to_ascii_lowercase();
    LOG_ERROR_PATTERNS.iter().any(|p| low.contains(p))
        || line.contains("ERROR")
        || low.contains("\"level\":\"error\"")
}

/// The operator log lines about our ScaledObject (newest last). A line
/// about another object is never evidence for ours.
fn our_log_lines<'a>(
    ctx: &Ctx<'a>,
) -> impl DoubleEndedIterator<Item = &'a crate::domain::snapshot::LogLine> + 'a {
    let (ns, name) = (
        ctx.settings.namespace.clone(),
        ctx.settings.scaled_object.clone(),
    );
    ctx.snap
        .operator_logs
        .iter()
        .flatten()
        .filter(move |l| keda_log::about(&l.line, &ns, &name) == keda_log::About::Ours)
}

#[cfg(test)]
mod tests {
    use super::*;
    use super::{operator_logs::operator_logs, ready::ready};

    use crate::checks::testkit::*;

    use crate::domain::snapshot::{GapReason, LogLine, Lookup, Snapshot};

    pub(super) fn so_mut(s: &mut Snapshot) -> &mut ScaledObjectInfo {
        match s.scaled_object.as_mut() {
            Some(Lookup::Found(so)) => so,
            _ => panic!("no ScaledObject"),
        }
    }

    pub(super) fn trig_mut(s: &mut Snapshot) -> &mut TriggerInfo {
        &mut so_mut(s).triggers[0]
    }

    pub(super) fn set_query(s: &mut Snapshot, q: &str) {
        trig_mut(s).metadata.insert("query".into(), q.into());
    }

    pub(super) fn set_cond(s: &mut Snapshot, c: Condition) {
        let so = so_mut(s);
        so.conditions.retain(|x| x.type_ != c.type_);
        so.conditions.push(c);
    }

    /// Sets a pause annotation and the Paused=True condition KEDA sets for
    /// every kind of pause.
    pub(super) fn pause_by(s: &mut Snapshot, key: &str, value: &str) {
        so_mut(s).annotations.insert(key.into(), value.into());
        set_cond(
            s,
            cond(
                "Paused",
                "True",
                "ScaledObjectPaused",
                "ScaledObject is paused",
            ),
        );
    }

    pub(super) fn without_cond(s: &mut Snapshot, type_: &str) {
        so_mut(s).conditions.retain(|x| x.type_ != type_);
    }

    #[test]
    fn registry_order_and_needs_are_as_specified() {
        let got: Vec<(CheckId, Vec<CheckId>)> = crate::checks::of_area(crate::checks::Area::Keda)
            .into_iter()
            .map(|c| (c.id, c.needs.to_vec()))
            .collect();
        let want: Vec<(CheckId, Vec<CheckId>)> = vec![
            (CheckId::KedaInstalled, vec![]),
            (CheckId::KedaScaledobject, vec![CheckId::KedaInstalled]),
            (CheckId::KedaReady, vec![CheckId::KedaScaledobject]),
            (CheckId::KedaPaused, vec![CheckId::KedaScaledobject]),
            (CheckId::KedaTrigger, vec![CheckId::KedaScaledobject]),
            (CheckId::KedaOperator, vec![CheckId::KedaInstalled]),
            (CheckId::KedaMetricsApiserver, vec![CheckId::KedaInstalled]),
            (CheckId::KedaOperatorLogs, vec![CheckId::KedaOperator]),
            (CheckId::KedaEvents, vec![CheckId::KedaScaledobject]),
            (
                CheckId::KedaActive,
                vec![CheckId::KedaReady, CheckId::PrometheusNginxMetric],
            ),
            (CheckId::KedaFallback, vec![CheckId::KedaScaledobject]),
            (CheckId::KedaMinReplicas, vec![CheckId::KedaScaledobject]),
            (CheckId::KedaMaxReplicas, vec![CheckId::KedaScaledobject]),
            (CheckId::KedaActivationThreshold, vec![CheckId::KedaTrigger]),
            (
                CheckId::KedaPollingInterval,
                vec![CheckId::KedaScaledobject],
            ),
            (CheckId::KedaCooldown, vec![CheckId::KedaScaledobject]),
        ];
        assert_eq!(got, want);
        for c in crate::checks::of_area(crate::checks::Area::Keda) {
            assert_eq!(c.area(), crate::checks::Area::Keda);
            assert!(!c.docs.what.is_empty() && !c.docs.why.is_empty() && !c.docs.fix.is_empty());
        }
    }

    #[test]
    fn healthy_snapshot_fails_nothing_and_warns_only_on_scale_down_timing() {
        let s = healthy();
        for c in crate::checks::of_area(crate::checks::Area::Keda) {
            let v = eval(c.eval, &s);
            match c.id {
                CheckId::KedaCooldown => expect(&v, Outcome::Warn, "95 s"),
                _ => assert_eq!(v.outcome, Outcome::Pass, "{}: {v:#?}", c.id),
            }
            if matches!(v.outcome, Outcome::Warn | Outcome::Fail) {
                let cmd = v.command.as_deref().unwrap_or_default();
                assert!(cmd.starts_with("kubectl "), "{}: {cmd}", c.id);
                assert!(!cmd.contains(" apply ") && !cmd.contains(" edit "), "{cmd}");
            }
            assert!(!v.message.contains('\n'), "{}: one line", c.id);
        }
    }

    // keda.installed

    // keda.scaledobject

    // keda.ready

    #[test]
    fn checks_of_the_scaledobject_skip_or_error_when_it_was_not_read() {
        let mut s = healthy();
        s.scaled_object = Some(Lookup::Missing);
        expect(&eval(ready, &s), Outcome::Skip, "no ScaledObject");
        let mut s = healthy();
        s.scaled_object = None;
        gap(&mut s, "scaledobject", GapReason::Timeout, "took too long");
        // keda.events reads only the event list.
        for c in crate::checks::of_area(crate::checks::Area::Keda)
            .iter()
            .filter(|c| c.needs.contains(&CheckId::KedaScaledobject) && c.id != CheckId::KedaEvents)
        {
            let v = eval(c.eval, &s);
            assert_eq!(v.outcome, Outcome::Error, "{}: {v:#?}", c.id);
        }
    }

    // keda.paused

    // keda.trigger

    // keda.operator

    // keda.metrics-apiserver

    // keda.ready with KEDA 2.20's HPA health

    // keda.operator-logs

    pub(super) fn log(line: &str) -> LogLine {
        LogLine {
            pod: "keda-operator-6b8f9d7c5d-xk2lp".into(),
            line: line.into(),
        }
    }

    /// kedacore/keda#6359: another ScaledObject of the namespace fails in the
    /// same operator log. Its lines are context, never evidence for ours,
    /// even when its error mentions our name.
    #[test]
    fn another_scaled_object_s_errors_are_context_not_evidence() {
        let mut s = healthy();
        s.operator_logs = Some(vec![
            log(
                "2026-11-27T11:59:00Z\tERROR\tscale_handler\terror getting scale decision\t{\"scaledObject.Namespace\": \"default\", \"scaledObject.Name\": \"internal-app-3\", \"scaler\": \"prometheusScaler\", \"error\": \"prometheus query api returned error. status: 400 (spice-runner-keda)\"}",
            ),
            log(
                "2026-11-27T11:59:01Z\tERROR\tscaleexecutor\tError setting active condition when triggers are not active\t{\"scaledobject.Name\": \"internal-app-3\", \"scaledObject.Namespace\": \"default\", \"scaleTarget.Name\": \"internal-app-3\", \"error\": \"context canceled\"}",
            ),
        ]);
        let v = eval(operator_logs, &s);
        expect(&v, Outcome::Pass, "no scaler errors in 0");
        assert!(
            v.evidence
                .iter()
                .any(|e| e.contains("not counted: 2 error line(s)")
                    && e.contains("default/internal-app-3")),
            "{:#?}",
            v.evidence
        );
        set_cond(
            &mut s,
            cond(
                "Ready",
                "False",
                "TriggerError",
                "Triggers defined in ScaledObject are not working correctly",
            ),
        );
        let v = eval(ready, &s);
        assert!(
            v.evidence.iter().all(|e| !e.contains("internal-app-3")),
            "{:#?}",
            v.evidence
        );
    }

    // keda.events

    // keda.active

    // keda.fallback

    // keda.min-replicas

    // keda.max-replicas

    // keda.activation-threshold

    // keda.polling-interval

    // keda.cooldown

    #[test]
    fn every_check_outcome_carries_a_remediation_for_problems() {
        // A broken snapshot: every check either passes or names a fix and a command.
        let mut s = healthy();
        so_mut(&mut s).polling_interval = None;
        so_mut(&mut s).cooldown_period = None;
        so_mut(&mut s).min_replicas = Some(1);
        set_cond(
            &mut s,
            cond(
                "Ready",
                "False",
                "ScaledObjectCheckFailed",
                "ScaledObject doesn't have correct triggers specification",
            ),
        );
        for c in crate::checks::of_area(crate::checks::Area::Keda) {
            let settings = crate::settings::Settings::defaults();
            let v = (c.eval)(&Ctx::new(&s, &settings));
            if matches!(v.outcome, Outcome::Warn | Outcome::Fail) {
                assert!(v.fix.is_some() && v.command.is_some(), "{}: {v:#?}", c.id);
            }
        }
    }
}
