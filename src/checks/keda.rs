//! Checks of the keda area: is KEDA installed and running, does the
//! ScaledObject exist, point at the Deployment, query the sessions the right
//! way, and are its timings able to meet the runbook's targets.
//!
//! KEDA facts (defaults, conditions, events, log lines) are from
//! `notes/keda-prometheus-facts.md` §1; where the runbook is wrong (§8) the
//! checks say so instead of repeating it.

use super::{Area, Check, Ctx, Docs, Outcome, Verdict};
use crate::cluster::promql;
use crate::keda_log;
use crate::settings::Endpoint;
use crate::snapshot::{
    Condition, GapReason, KEDA_DEFAULT_ACTIVATION_THRESHOLD, KEDA_DEFAULT_MAX_REPLICAS,
    KEDA_DEFAULT_POLLING_INTERVAL, Lookup, PAUSED, PAUSED_REPLICAS, PAUSED_SCALE_IN,
    PAUSED_SCALE_OUT, ScaledObjectInfo, TriggerInfo, condition, parse_go_bool,
};
use jiff::Timestamp;

pub static CHECKS: &[Check] = &[
    Check {
        id: "keda.installed",
        area: Area::Keda,
        title: "KEDA is installed",
        runbook: "Quick Health Checks §2",
        needs: &[],
        reads: "apis.keda, gaps[scaledobject], gaps[discovery], scaledObject",
        docs: Docs {
            what: "Whether the cluster serves the keda.sh API (the ScaledObject CRD).",
            why: "Without KEDA nothing turns sessions into pods; every other KEDA check would only repeat that.",
            fix: "Install KEDA (Helm chart kedacore/keda into namespace keda), or switch to the cluster that runs the game.",
        },
        eval: installed,
    },
    Check {
        id: "keda.scaledobject",
        area: Area::Keda,
        title: "ScaledObject exists and targets the Deployment",
        runbook: "Quick Health Checks §2",
        needs: &["keda.installed"],
        reads: "scaledObject (scaleTargetRef), deployment, gaps[scaledobject], gaps[deployment]",
        docs: Docs {
            what: "The ScaledObject exists, its scaleTargetRef is kind Deployment with the configured name, and that Deployment exists.",
            why: "KEDA scales only what scaleTargetRef names; a typo there leaves the game at a fixed pod count (KEDA: \"Target resource doesn't exist\").",
            fix: "Create the ScaledObject, or set spec.scaleTargetRef to {kind: Deployment, name: <deployment>}; set the scaledObject/deployment settings if the names differ.",
        },
        eval: scaled_object_check,
    },
    Check {
        id: "keda.ready",
        area: Area::Keda,
        title: "ScaledObject is Ready",
        runbook: "Quick Health Checks §2; Quick Validation Checklist",
        needs: &["keda.scaledobject"],
        reads: "scaledObject.conditions[Ready]",
        docs: Docs {
            what: "The ScaledObject's Ready condition (READY column of `kubectl get scaledobject`).",
            why: "Ready=False means KEDA rejected the spec (ScaledObjectCheckFailed) or the trigger fails (TriggerError); Unknown with PartialTriggerError means one trigger fails. KEDA 2.20.0–2.20.1 also turn Ready False when only the HPA is unhealthy (HPAMetricsUnavailable), 2.20.2 sets HPAActive=False instead: then this check warns and the HPA checks judge the cause, never blocked by it.",
            fix: "Fix what the condition's reason and message name; the operator logs and the ScaledObject's Warning events carry the full error.",
        },
        eval: ready,
    },
    Check {
        id: "keda.paused",
        area: Area::Keda,
        title: "Autoscaling is not paused",
        runbook: "Quick Health Checks §2",
        needs: &["keda.scaledobject"],
        reads: "scaledObject.annotations (autoscaling.keda.sh/paused*), scaledObject.conditions[Paused]",
        docs: Docs {
            what: "KEDA's pause annotations (paused, paused-replicas, paused-scale-in, paused-scale-out), read as KEDA reads them (Go strconv.ParseBool: 1 t T TRUE true True 0 f F FALSE false False; any other value counts as true), and the Paused condition.",
            why: "A full pause (paused, paused-replicas) stops the scale loop and deletes the HPA, so pods no longer follow sessions. paused-scale-in/-out also set Paused=True, but KEDA keeps the HPA and scales the other way: scale-in paused means sessions end but pods stay; scale-out paused means new sessions get no pod.",
            fix: "Remove the annotation: `kubectl annotate scaledobject <name> -n <ns> autoscaling.keda.sh/paused-` (or paused-replicas-, paused-scale-in-, paused-scale-out-).",
        },
        eval: paused,
    },
    Check {
        id: "keda.trigger",
        area: Area::Keda,
        title: "Prometheus trigger queries sessions 1:1",
        runbook: "Prometheus Queries: Active Game Sessions; Troubleshooting: No Pods Scaling Up, Check 3",
        needs: &["keda.scaledobject"],
        reads: "scaledObject.triggers (type, metricType, metadata.query/threshold/serverAddress); Prometheus count_over_time(nginx_http_requests_total{service=...}[5m])",
        docs: Docs {
            what: "The prometheus trigger: its query reads nginx_http_requests_total of the game's service and returns one element, its rate window holds two samples at the series' scrape interval, threshold is 1, metricType is AverageValue.",
            why: "KEDA errors on a query that returns several series (\"returned multiple elements\"); the HPA wants ceil(sessions / threshold) pods, so only threshold 1 with AverageValue gives one pod per session.",
            fix: "Use query sum(rate(nginx_http_requests_total{service=\"<nginxService>\"}[1m])), threshold \"1\", and leave metricType unset (AverageValue).",
        },
        eval: trigger,
    },
    Check {
        id: "keda.operator",
        area: Area::Keda,
        title: "KEDA operator is running",
        runbook: "Kubectl Monitoring Commands: Monitor KEDA Decision Making",
        needs: &["keda.installed"],
        reads: "operatorPods, gaps[keda-operator]",
        docs: Docs {
            what: "The KEDA operator pods (kedaNamespace, kedaOperatorSelector) are Running and Ready.",
            why: "The operator polls the trigger and scales 0↔1; without it a ScaledObject is inert.",
            fix: "Read the operator's logs (`kubectl logs -n keda <pod> --previous`) and fix what stops it; set kedaNamespace/kedaOperatorSelector if KEDA runs elsewhere.",
        },
        eval: operator,
    },
    Check {
        id: "keda.metrics-apiserver",
        area: Area::Keda,
        title: "KEDA's metrics API server is running",
        runbook: "Quick Health Checks §3 (the HPA's metric comes from it)",
        needs: &["keda.installed"],
        reads: "metricsApiserverPods, gaps[keda-metrics-apiserver]",
        docs: Docs {
            what: "The keda-operator-metrics-apiserver pods (kedaNamespace, kedaMetricsApiserverSelector) are Running and Ready.",
            why: "It serves external.metrics.k8s.io: the HPA reads s0-prometheus from it to go from 1 to N pods. When it is down, KEDA's own loop still works (Ready, Active), but the HPA reports FailedGetExternalMetric and freezes; KEDA 2.20.0–2.20.1 then turn Ready False (HPAMetricsUnavailable) and 2.20.2 sets HPAActive False.",
            fix: "Read its logs (`kubectl logs -n keda <pod> --previous`) and events: an OOMKilled loop wants a higher memory limit (Helm resources.metricServer); check `kubectl get apiservice v1beta1.external.metrics.k8s.io` is Available.",
        },
        eval: metrics_apiserver,
    },
    Check {
        id: "keda.operator-logs",
        area: Area::Keda,
        title: "KEDA operator logs show no scaler errors",
        runbook: "Troubleshooting: No Pods Scaling Up, Check 3",
        needs: &["keda.operator"],
        reads: "operatorLogs, gaps[keda-operator-logs]",
        docs: Docs {
            what: "Operator log lines about this ScaledObject with scaler errors (`error executing prometheus query`, `prometheus query api returned error`, `error getting scale decision`, `returned multiple elements`, ERROR). A line counts only when its structured fields name this ScaledObject (\"scaledObject.Name\", \"scaledobject.Name\", a scaler's \"name\"); other ScaledObjects' errors are listed as context, never as evidence.",
            why: "The runbook greps for \"querying prometheus\", which KEDA never logs: successful queries are silent at info level, only failures are logged.",
            fix: "Fix what the quoted error names: serverAddress reachable from the keda namespace, a query that parses and returns one element.",
        },
        eval: operator_logs,
    },
    Check {
        id: "keda.events",
        area: Area::Keda,
        title: "No Warning events on the ScaledObject",
        runbook: "Kubectl Monitoring Commands: View Scaling Events",
        needs: &["keda.scaledobject"],
        reads: "events (involvedObject ScaledObject <scaledObject>)",
        docs: Docs {
            what: "Warning events on the ScaledObject: KEDAScalerFailed, ScaledObjectCheckFailed, KEDAScaleTargetActivationFailed, ...",
            why: "KEDA reports scaler and scale failures as events; the runbook's `grep -i scale` over all events hides them among normal ones.",
            fix: "Fix what the newest event's message says; events expire after an hour, so a recent one is a current problem. An event written through events.k8s.io (KEDA 2.20) is as recent as its series.lastObservedTime.",
        },
        eval: events,
    },
    Check {
        id: "keda.active",
        area: Area::Keda,
        title: "KEDA's Active agrees with the sessions",
        runbook: "Quick Health Checks §2 (ACTIVE); Quick Validation Checklist",
        needs: &["keda.ready", "prometheus.nginx-metric"],
        reads: "scaledObject.conditions[Active], scaledObject.triggers (activationThreshold), scaledObject.minReplicaCount, prometheus[sessions]",
        docs: Docs {
            what: "The Active condition against the sessions Prometheus reports and the trigger's activationThreshold (active means value > activationThreshold).",
            why: "Sessions above the activation threshold with Active not True means KEDA's query does not see the traffic the plugin sees, so 0→1 never happens.",
            fix: "Make the trigger's query and serverAddress the ones the plugin reads (see keda.trigger); if traffic just started or stopped, re-run after one pollingInterval.",
        },
        eval: active,
    },
    Check {
        id: "keda.fallback",
        area: Area::Keda,
        title: "KEDA is not on fallback replicas",
        runbook: "Quick Health Checks §2",
        needs: &["keda.scaledobject"],
        reads: "scaledObject.fallback, scaledObject.conditions[Fallback]",
        docs: Docs {
            what: "The Fallback condition, spec.fallback and its behavior (static, currentReplicas, currentReplicasIfHigher, currentReplicasIfLower; KEDA 2.17+), which decides how many replicas fallback holds.",
            why: "Fallback=True means the scaler failed failureThreshold times in a row and KEDA holds fallback.replicas, not one pod per session; with no fallback a Prometheus outage freezes scaling.",
            fix: "Fix the failing trigger (keda.operator-logs, keda.events); consider spec.fallback {failureThreshold, replicas} sized for peak sessions.",
        },
        eval: fallback,
    },
    Check {
        id: "keda.min-replicas",
        area: Area::Keda,
        title: "minReplicaCount allows scale to zero",
        runbook: "Quick Validation Checklist (minReplicaCount=0)",
        needs: &["keda.scaledobject"],
        reads: "scaledObject.minReplicaCount, scaledObject.idleReplicaCount",
        docs: Docs {
            what: "minReplicaCount (KEDA default 0) and idleReplicaCount.",
            why: "The runbook expects 0 pods with 0 sessions; minReplicaCount > 0 keeps pods without sessions, so the sessions/pod ratio reads low when idle.",
            fix: "Set spec.minReplicaCount: 0 unless warm pods are intended.",
        },
        eval: min_replicas,
    },
    Check {
        id: "keda.max-replicas",
        area: Area::Keda,
        title: "maxReplicaCount leaves headroom",
        runbook: "Quick Health Checks §2 (MAX); Testing Scenarios: Test 3",
        needs: &["keda.scaledobject"],
        reads: "scaledObject.maxReplicaCount, scaledObject.triggers (threshold), prometheus[sessions], prometheus[runningPods], pods",
        docs: Docs {
            what: "The pods the trigger asks for, ceil(sessions / threshold), against maxReplicaCount (KEDA default 100).",
            why: "At maxReplicaCount the HPA stops (ScalingLimited/TooManyReplicas): further sessions get no pod.",
            fix: "Raise spec.maxReplicaCount above the peak session count, and check that the Karpenter NodePool limits can hold that many pods.",
        },
        eval: max_replicas,
    },
    Check {
        id: "keda.activation-threshold",
        area: Area::Keda,
        title: "One session activates scaling from zero",
        runbook: "Scaling Too Slow, Check 1",
        needs: &["keda.trigger"],
        reads: "scaledObject.triggers (metadata.activationThreshold, metadata.query), scaledObject.minReplicaCount, settings targets.heartbeatPerSession",
        docs: Docs {
            what: "activationThreshold against what one session adds to the trigger query (~1 req/s for the nginx request rate, ~0.2/s for a heartbeat rate).",
            why: "KEDA activates only when value > activationThreshold (strictly): a threshold at or above one session's contribution never scales 0→1 for a single player.",
            fix: "Keep activationThreshold well below one session's contribution: 0.2 for the nginx request rate (runbook: 0.2 → 0.1 when too slow), below 0.1 for a heartbeat rate.",
        },
        eval: activation_threshold,
    },
    Check {
        id: "keda.polling-interval",
        area: Area::Keda,
        title: "pollingInterval meets the scale-up target",
        runbook: "Scaling Too Slow, Check 2; Scaling Too Fast",
        needs: &["keda.scaledobject"],
        reads: "scaledObject.pollingInterval, pods (created, readySince), settings targets.scaleUp",
        docs: Docs {
            what: "Worst-case time to a new pod: pollingInterval (default 30 s) + ~15 s metric lag (scrape), then the pods' median creation→Ready time.",
            why: "The runbook wants the pod within 30 s (Test 1: Pending at 30 s, Running at 45 s); KEDA only notices a first session on its next poll. Below 5 s KEDA loads Prometheus without scaling faster (the HPA syncs every 15 s).",
            fix: "Lower spec.pollingInterval (runbook Scaling Too Slow: 5 → 3); if it flaps or loads Prometheus, raise it (Scaling Too Fast: 5 → 10 or 15).",
        },
        eval: polling_interval,
    },
    Check {
        id: "keda.cooldown",
        area: Area::Keda,
        title: "Scale-down timing meets the target",
        runbook: "Troubleshooting: Pods Not Scaling Down, Check 2",
        needs: &["keda.scaledobject"],
        reads: "scaledObject.cooldownPeriod, scaledObject.pollingInterval, scaledObject.triggers (query rate window), scaledObject.scaleDownStabilization, hpas[keda-hpa].scaleDownStabilization, settings targets.scaleDown",
        docs: Docs {
            what: "Time to zero ≈ rate window + cooldownPeriod (default 300 s) + pollingInterval; N→M shrink waits the HPA's scale-down stabilization (default 300 s).",
            why: "cooldownPeriod only governs the last pod (1→0); between N and M the HPA decides and by default keeps the highest recommendation of the last 5 minutes.",
            fix: "Lower cooldownPeriod and the query's rate window; set advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds on the ScaledObject.",
        },
        eval: cooldown,
    },
];

// ---------------------------------------------------------------------------
// Shared helpers

/// Prometheus scrape interval assumed for the metric lag (the usual 15 s).
const SCRAPE_LAG_SECS: i64 = 15;
/// Pod start assumed when no pod has a creation and a Ready time.
const DEFAULT_POD_START_SECS: i64 = 20;
/// The rate window assumed when the trigger query has none we can read.
const DEFAULT_RATE_WINDOW_SECS: i64 = 60;
/// The HPA's scale-down stabilization when `behavior` is unset (autoscaling/v2).
const HPA_DEFAULT_SCALE_DOWN_STABILIZATION: i64 = 300;
/// The HPA controller's default sync period.
const HPA_SYNC_SECS: i64 = 15;
/// Runbook Test 1: Pending at t=30 s, Running at t=45 s, so 15 s to Ready.
const RUNBOOK_READY_ALLOWANCE_SECS: i64 = 15;
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

/// The verdict for a source that was not read: its gap as an error, else skip.
fn not_read(ctx: &Ctx, source: &str, what: &str) -> Verdict {
    ctx.gap_verdict(source)
        .unwrap_or_else(|| Verdict::skip(format!("{what} not collected")))
}

fn describe_so(ctx: &Ctx) -> String {
    format!(
        "kubectl describe scaledobject {} -n {}",
        ctx.settings.scaled_object,
        ctx.ns()
    )
}

fn so_jsonpath(ctx: &Ctx, path: &str) -> String {
    format!(
        "kubectl get scaledobject {} -n {} -o jsonpath='{path}'",
        ctx.settings.scaled_object,
        ctx.ns()
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
    // Failures first; the sort is stable, so each keeps its finding order.
    issues.sort_by_key(|i| i.outcome != Outcome::Fail);
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

/// Whether the trigger query counts heartbeats rather than requests.
fn is_heartbeat_query(query: &str) -> bool {
    let q = query.to_ascii_lowercase();
    q.contains("heartbeat") || q.contains("faro_receiver_events_total")
}

fn compact(q: &str) -> String {
    q.chars().filter(|c| !c.is_whitespace()).collect()
}

// ---------------------------------------------------------------------------
// A small PromQL reader: enough to tell whether a query returns one element.

/// What a PromQL expression returns, as far as KEDA's scaler cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// At most one vector element (a top-level aggregation without grouping).
    Single,
    /// Possibly several elements (a bare selector, `rate(...)`, `sum by (x)`).
    Many,
    /// A scalar result, which KEDA's scaler cannot decode.
    Scalar,
    /// Cannot tell (a recording rule, a leading number).
    Unknown,
}

const AGGREGATIONS: &[&str] = &[
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "quantile",
    "count_values",
    "topk",
    "bottomk",
    "limitk",
    "limit_ratio",
];

/// The index just past a quoted string starting at `i`.
fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    let quote = b[i];
    let mut j = i + 1;
    while j < b.len() {
        if b[j] == b'\\' && quote != b'`' {
            j += 2;
            continue;
        }
        if b[j] == quote {
            return Some(j + 1);
        }
        j += 1;
    }
    None
}

/// The index of the bracket closing the one at `open`.
fn matching_close(b: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0i32;
    let mut i = open;
    while i < b.len() {
        match b[i] {
            b'"' | b'\'' | b'`' => {
                i = skip_string(b, i)?;
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

fn ident_end(b: &[u8], start: usize) -> usize {
    let mut i = start;
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b':') {
        i += 1;
    }
    i
}

/// The top-level arguments between `open` and `close`.
fn split_args(e: &str, open: usize, close: usize) -> Vec<&str> {
    let b = e.as_bytes();
    let mut args = Vec::new();
    let mut depth = 0i32;
    let mut start = open + 1;
    let mut i = open + 1;
    while i < close {
        match b[i] {
            b'"' | b'\'' | b'`' => {
                i = skip_string(b, i).unwrap_or(close);
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            b',' if depth == 0 => {
                args.push(&e[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    args.push(&e[start..close]);
    args
}

/// The expression without a trailing range or subquery (`x[1m]` → `x`).
fn strip_range(e: &str) -> &str {
    let b = e.as_bytes();
    let mut depth = 0i32;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' | b'\'' | b'`' => {
                i = skip_string(b, i).unwrap_or(b.len());
                continue;
            }
            b'[' if depth == 0 => return e[..i].trim(),
            b'(' | b'{' | b'[' => depth += 1,
            b')' | b'}' | b']' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    e.trim()
}

/// `by (...)` / `without (...)` at `i`: whether it splits the result into
/// several elements, and the index past it.
fn grouping_clause(e: &str, i: usize) -> Option<(bool, usize)> {
    let b = e.as_bytes();
    let end = ident_end(b, i);
    let kw = e[i..end].to_ascii_lowercase();
    if kw != "by" && kw != "without" {
        return None;
    }
    let open = skip_ws(b, end);
    if open >= b.len() || b[open] != b'(' {
        return None;
    }
    let close = matching_close(b, open)?;
    let labels = e[open + 1..close].trim();
    Some((kw == "without" || !labels.is_empty(), close + 1))
}

/// Whether a query returns a single element, judged by its leading term
/// (`sum(a) / sum(b)` and `sum(a) or vector(0)` are single).
fn shape(expr: &str) -> Shape {
    let e = expr.trim();
    let b = e.as_bytes();
    if b.is_empty() {
        return Shape::Unknown;
    }
    if b[0] == b'(' {
        return match matching_close(b, 0) {
            Some(close) => shape(&e[1..close]),
            None => Shape::Unknown,
        };
    }
    if b[0] == b'{' {
        return Shape::Many;
    }
    if !(b[0].is_ascii_alphabetic() || b[0] == b'_' || b[0] == b':') {
        return if e.parse::<f64>().is_ok() {
            Shape::Scalar
        } else {
            Shape::Unknown
        };
    }
    let end = ident_end(b, 0);
    let name = e[..end].to_ascii_lowercase();
    let mut k = skip_ws(b, end);
    if AGGREGATIONS.contains(&name.as_str()) {
        let mut splits = None;
        if let Some((many, next)) = grouping_clause(e, k) {
            splits = Some(many);
            k = skip_ws(b, next);
        }
        if k >= b.len() || b[k] != b'(' {
            return Shape::Many;
        }
        let Some(close) = matching_close(b, k) else {
            return Shape::Unknown;
        };
        if splits.is_none() {
            splits = grouping_clause(e, skip_ws(b, close + 1)).map(|(many, _)| many);
        }
        if splits == Some(true) {
            return Shape::Many;
        }
        return match name.as_str() {
            "topk" | "bottomk" | "limitk" | "limit_ratio" | "count_values" => Shape::Many,
            _ => Shape::Single,
        };
    }
    if k < b.len() && b[k] == b'(' {
        let Some(close) = matching_close(b, k) else {
            return Shape::Unknown;
        };
        let args = split_args(e, k, close);
        return match name.as_str() {
            "scalar" | "time" | "pi" => Shape::Scalar,
            "vector" | "absent" | "absent_over_time" => Shape::Single,
            "histogram_quantile" | "quantile_over_time" => args
                .get(1)
                .map_or(Shape::Unknown, |a| shape(strip_range(a))),
            _ => args
                .first()
                .map_or(Shape::Unknown, |a| shape(strip_range(a))),
        };
    }
    // A bare selector. A recording rule (`level:metric:ops`) may already be
    // aggregated to one series; a raw metric has one series per target.
    if name.contains(':') {
        Shape::Unknown
    } else {
        Shape::Many
    }
}

/// The first range in a query (`[1m]`, `[5m:15s]` → its range), in seconds.
fn rate_window_secs(query: &str) -> Option<i64> {
    let b = query.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' | b'\'' | b'`' => {
                i = skip_string(b, i)?;
                continue;
            }
            b'[' => {
                let close = matching_close(b, i)?;
                let inner = &query[i + 1..close];
                let range = inner.split(':').next().unwrap_or("");
                return promql_duration_secs(range.trim());
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// `1m`, `90s`, `1h30m`, `500ms` → seconds (rounded down).
fn promql_duration_secs(text: &str) -> Option<i64> {
    if text.is_empty() {
        return None;
    }
    let mut millis: i64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: i64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit_ms = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            "y" => 365 * 86_400_000,
            _ => return None,
        };
        rest = &rest[unit_len..];
        millis = millis.checked_add(n.checked_mul(unit_ms)?)?;
    }
    Some(millis / 1000)
}

/// Whether the trigger's serverAddress is the Prometheus the plugin reads.
fn same_prometheus(server_address: &str, setting: &Endpoint) -> Option<bool> {
    let url = url::Url::parse(server_address).ok()?;
    let host = url.host_str()?.to_ascii_lowercase();
    let port = url.port_or_known_default();
    Some(match setting {
        Endpoint::Service(s) => {
            let short = format!("{}.{}", s.name, s.namespace);
            let host_ok = host == short || host.starts_with(&format!("{short}."));
            let port_ok =
                s.port.is_empty() || s.port.parse::<u16>().map_or(true, |p| Some(p) == port);
            host_ok && port_ok
        }
        Endpoint::Url(u) => match url::Url::parse(u) {
            Ok(mine) => {
                mine.host_str().map(str::to_ascii_lowercase).as_deref() == Some(host.as_str())
                    && mine.port_or_known_default() == port
            }
            Err(_) => false,
        },
    })
}

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

fn threshold_or_one(so: &ScaledObjectInfo) -> f64 {
    so.prometheus_trigger()
        .and_then(TriggerInfo::threshold)
        .filter(|t| *t > 0.0)
        .unwrap_or(1.0)
}

// ---------------------------------------------------------------------------
// The checks

fn installed(ctx: &Ctx) -> Verdict {
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

fn scaled_object_check(ctx: &Ctx) -> Verdict {
    let (name, ns) = (&ctx.settings.scaled_object, ctx.ns());
    let so = match &ctx.snap.scaled_object {
        Some(Lookup::Missing) => {
            return Verdict::fail(format!(
                "ScaledObject {name} not found in namespace {ns}"
            ))
            .fix(format!(
                "create the ScaledObject, or set the scaledObject setting (--scaled-object) to the name `kubectl get scaledobjects -n {ns}` lists"
            ))
            .command(format!("kubectl get scaledobjects -n {ns}"));
        }
        _ => match scaled_object(ctx) {
            Ok(so) => so,
            Err(v) => return v,
        },
    };
    let kind = so.target_kind.as_deref().unwrap_or("Deployment");
    let target = format!("{kind}/{}", so.target_name);
    let evidence = format!(
        "scaleTargetRef: apiVersion {}, kind {kind}, name {}",
        so.target_api_version
            .as_deref()
            .unwrap_or("apps/v1 (default)"),
        so.target_name
    );
    if kind != "Deployment" || so.target_name != ctx.settings.deployment {
        return Verdict::fail(format!(
            "ScaledObject {name} targets {target}, not Deployment/{}",
            ctx.settings.deployment
        ))
        .evidence(evidence)
        .fix(format!(
            "set spec.scaleTargetRef to {{kind: Deployment, name: {}}}, or set the deployment setting (--deployment) if the game runs under another name",
            ctx.settings.deployment
        ))
        .command(so_jsonpath(ctx, "{.spec.scaleTargetRef}"));
    }
    match &ctx.snap.deployment {
        Some(Lookup::Found(d)) => Verdict::pass(format!(
            "ScaledObject {name} targets Deployment {} ({} replicas, {} ready)",
            d.name,
            d.replicas.map_or("?".to_string(), |r| r.to_string()),
            d.ready_replicas
        ))
        .evidence(evidence),
        Some(Lookup::Missing) => Verdict::fail(format!(
            "ScaledObject {name} targets Deployment {}, which does not exist in namespace {ns}",
            so.target_name
        ))
        .evidence(evidence)
        .evidence("KEDA reports this as ScaledObjectCheckFailed: \"Target resource doesn't exist\"")
        .fix("deploy the game's Deployment, or point spec.scaleTargetRef.name at the one that exists")
        .command(format!("kubectl get deployments -n {ns}")),
        None => {
            let v = not_read(ctx, "deployment", "the Deployment was");
            Verdict {
                message: format!(
                    "ScaledObject {name} targets Deployment {}, but the Deployment could not be checked: {}",
                    so.target_name, v.message
                ),
                ..v
            }
            .evidence(evidence)
        }
    }
}

fn ready(ctx: &Ctx) -> Verdict {
    let so = match scaled_object(ctx) {
        Ok(so) => so,
        Err(v) => return v,
    };
    let Some(c) = condition(&so.conditions, "Ready") else {
        return Verdict::warn(format!(
            "ScaledObject {} has no Ready condition: KEDA has not reconciled it (is the operator running?)",
            so.name
        ))
        .fix("check the KEDA operator (keda.operator) and its logs; a new ScaledObject gets its conditions within seconds")
        .command(describe_so(ctx));
    };
    let text = cond_text(c);
    if let Some(v) = hpa_health_in_ready(ctx, so, c) {
        return v;
    }
    match c.status.as_str() {
        "True" => Verdict::pass(text),
        "False" => {
            // KEDA's condition says only "triggers are not working"; the
            // error itself is in the ScaledObject's events and the operator's
            // log. Quote it here, where the engineer reads first.
            let quoted = scaler_errors(ctx);
            let fix = match c.reason.as_deref().unwrap_or_default() {
                "TriggerError" if !quoted.is_empty() => {
                    format!("the prometheus trigger fails: {}", scaler_error_fix(&quoted.join(" ")))
                }
                "ScaledObjectCheckFailed" => {
                    "fix the ScaledObject spec as the message says (replica counts, triggers, scale target)".to_string()
                }
                "TriggerError" => format!(
                    "the prometheus trigger fails: {}",
                    scaler_error_fix(c.message.as_deref().unwrap_or_default())
                ),
                "ErrorGettingCurrentReplicas" => {
                    "KEDA cannot read the target's /scale: check spec.scaleTargetRef and the keda-operator's RBAC".to_string()
                }
                "ScalingDegraded" => {
                    "KEDA's trigger fails and the HPA cannot read its metric: fix the trigger first (the reason quoted after \"SO is not healthy\"), then check keda-operator-metrics-apiserver".to_string()
                }
                _ => "fix what the condition's message names, then watch READY turn True".to_string(),
            };
            let mut v = Verdict::fail(format!("ScaledObject {} is not ready: {text}", so.name))
                .fix(fix)
                .command(describe_so(ctx));
            for q in quoted {
                v = v.evidence(q);
            }
            v
        }
        _ => Verdict::warn(format!(
            "ScaledObject {} readiness is unknown: {text}",
            so.name
        ))
        .fix("a trigger is failing or KEDA could not check the ScaledObject: see keda.events and keda.operator-logs for the error")
        .command(describe_so(ctx)),
    }
}

/// The ScaledObject's own reasons for not being Ready, as opposed to the HPA's.
const SCALED_OBJECT_FAILURES: &[&str] = &[
    "TriggerError",
    "ScaledObjectCheckFailed",
    "ErrorGettingCurrentReplicas",
];

/// KEDA 2.20 reports the HPA's health on the ScaledObject: 2.20.0–2.20.1
/// turn Ready False with `HPAMetricsUnavailable` (KEDA itself fine) or
/// `ScalingDegraded` (KEDA not fine either; its own reason is quoted in the
/// message), 2.20.2 leaves Ready alone and sets `HPAActive` False
/// (kedacore/keda v2.20.0 and v2.20.2 `pkg/scaling/executor/scale_scaledobjects.go`).
/// When only the HPA is unhealthy, keda.ready warns and points at the HPA
/// checks instead of failing, so it never blocks them with the HPA's own cause.
fn hpa_health_in_ready(ctx: &Ctx, so: &ScaledObjectInfo, ready: &Condition) -> Option<Verdict> {
    let reason = ready.reason.as_deref().unwrap_or_default();
    let message = ready.message.as_deref().unwrap_or_default();
    let hpa_only = match (ready.status.as_str(), reason) {
        ("False", "HPAMetricsUnavailable") => true,
        ("False", "ScalingDegraded") => !SCALED_OBJECT_FAILURES
            .iter()
            .any(|r| message.contains(&format!("SO is not healthy: {r}"))),
        _ => false,
    };
    let hpa_active = condition(&so.conditions, "HPAActive").filter(|c| c.status == "False");
    let shown = match (hpa_only, ready.status.as_str(), hpa_active) {
        (true, _, _) => cond_text(ready),
        (false, "True", Some(h)) => format!("{}, but {}", cond_text(ready), cond_text(h)),
        _ => return None,
    };
    let hpa = ctx.snap.keda_hpa_name(&ctx.settings.scaled_object);
    Some(
        Verdict::warn(format!(
            "ScaledObject {} is fine but KEDA reports its HPA unhealthy: {shown}",
            so.name
        ))
        .evidence(format!(
            "the cause is HPA {hpa}'s metric, judged by hpa.conditions and hpa.metric; keda.metrics-apiserver checks the server that serves it"
        ))
        .fix("see hpa.conditions and keda.metrics-apiserver: FailedGetExternalMetric means the HPA cannot reach keda-operator-metrics-apiserver (external.metrics.k8s.io)")
        .command(format!("kubectl describe hpa {hpa} -n {}", ctx.ns())),
    )
}

/// A long error shortened in its middle: Go errors put the URL first and the
/// cause ("no such host", "connection refused") last.
fn head_tail(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= 240 {
        return text.to_string();
    }
    let head: String = chars[..90].iter().collect();
    let tail: String = chars[chars.len() - 140..].iter().collect();
    format!("{head} … {tail}")
}

/// Up to two recent scaler errors: Warning events on the ScaledObject first,
/// then error lines of the operator's log, each truncated.
fn scaler_errors(ctx: &Ctx) -> Vec<String> {
    let mut out = Vec::new();
    let name = &ctx.settings.scaled_object;
    if let Some(events) = &ctx.snap.events {
        let mut warnings: Vec<&crate::snapshot::EventInfo> = events
            .iter()
            .filter(|e| {
                e.object_kind == "ScaledObject" && e.object_name == *name && e.type_ == "Warning"
            })
            .collect();
        warnings.sort_by_key(|e| std::cmp::Reverse(e.last_seen));
        if let Some(e) = warnings.first() {
            out.push(format!("event {}: {}", e.reason, head_tail(&e.message)));
        }
    }
    if let Some(l) = our_log_lines(ctx).rev().find(|l| is_scaler_error(&l.line)) {
        out.push(format!("operator log: {}", head_tail(l.line.trim())));
    }
    out
}

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

fn paused(ctx: &Ctx) -> Verdict {
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
            "kubectl annotate scaledobject {name} -n {ns} {}",
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
            "kubectl annotate scaledobject {name} -n {ns} {PAUSED}- ; if Paused stays True, check that the KEDA operator is running (keda.operator)"
        ))
        .command(look);
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
        so.name,
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

fn trigger(ctx: &Ctx) -> Verdict {
    let so = match scaled_object(ctx) {
        Ok(so) => so,
        Err(v) => return v,
    };
    let look = so_jsonpath(ctx, "{.spec.triggers}");
    let sessions_query = promql::sessions(ctx.settings).promql;
    let Some(t) = so.prometheus_trigger() else {
        let types: Vec<&str> = so.triggers.iter().map(|t| t.type_.as_str()).collect();
        return Verdict::fail(format!(
            "ScaledObject {} has no prometheus trigger (triggers: {})",
            so.name,
            if types.is_empty() {
                "none".to_string()
            } else {
                types.join(", ")
            }
        ))
        .fix(format!(
            "add a trigger {{type: prometheus, metadata: {{serverAddress: <prometheus URL>, query: '{sessions_query}', threshold: \"1\"}}}}"
        ))
        .command(look);
    };
    let mut issues = Vec::new();
    let mut evidence = Vec::new();

    let others: Vec<&str> = so
        .triggers
        .iter()
        .filter(|x| !std::ptr::eq(*x, t))
        .map(|x| x.type_.as_str())
        .collect();
    if !others.is_empty() {
        issues.push(Issue::warn(
            format!(
                "{} other trigger(s) ({}): the HPA follows the largest desired count of all, so pods can exceed sessions",
                others.len(),
                others.join(", ")
            ),
            "drop the other triggers unless they are meant to add pods beyond one per session",
        ));
    }

    match t
        .metadata
        .get("query")
        .map(|q| q.trim())
        .filter(|q| !q.is_empty())
    {
        None => issues.push(Issue::fail(
            "the prometheus trigger has no query",
            format!("set metadata.query: '{sessions_query}'"),
        )),
        Some(query) => {
            evidence.push(format!("query: {query}"));
            let cq = compact(query);
            if cq == compact(&sessions_query) {
                evidence.push("the query is the sessions query the plugin uses".to_string());
            } else if cq.contains("nginx_http_requests_total") {
                let svc = promql::escape(&ctx.settings.nginx_service);
                let right_service = [
                    format!("service=\"{svc}\""),
                    format!("service='{svc}'"),
                    format!("service=~\"{svc}\""),
                ]
                .iter()
                .any(|m| cq.contains(m.as_str()));
                if right_service {
                    evidence.push(format!(
                        "the plugin computes sessions with {sessions_query}; the trigger's query differs but reads the same nginx service"
                    ));
                } else if cq.contains("service=") {
                    issues.push(Issue::fail(
                        format!(
                            "the query reads nginx_http_requests_total of another service, not service=\"{}\"",
                            ctx.settings.nginx_service
                        ),
                        format!("set metadata.query: '{sessions_query}' (or the nginxService setting, if the plugin's is wrong)"),
                    ));
                } else {
                    issues.push(Issue::warn(
                        "the query has no service matcher: it counts the requests of every nginx Prometheus scrapes",
                        format!("set metadata.query: '{sessions_query}'"),
                    ));
                }
                if cq.contains("status=\"") || cq.contains("status=~\"") {
                    issues.push(Issue::fail(
                        "the query filters on a status label, which nginx-prometheus-exporter's nginx_http_requests_total does not have: it matches nothing and KEDA reads 0",
                        "drop the status matcher (stub_status has no per-status counts)",
                    ));
                }
            } else {
                issues.push(Issue::warn(
                    format!(
                        "the query does not read nginx_http_requests_total: KEDA scales on something other than the sessions the plugin measures ({sessions_query})"
                    ),
                    format!("set metadata.query: '{sessions_query}', or accept that the sessions/pod ratio compares different things"),
                ));
            }
            match shape(query) {
                Shape::Single => {}
                Shape::Many => issues.push(Issue::fail(
                    "the query can return one series per instance (no top-level sum): KEDA errors \"prometheus query ... returned multiple elements\"",
                    format!("wrap the query in sum(...), e.g. '{sessions_query}'"),
                )),
                Shape::Scalar => issues.push(Issue::fail(
                    "the query returns a scalar, which KEDA's Prometheus scaler cannot decode (it reads vectors only)",
                    "use sum(...) instead of scalar(...)",
                )),
                Shape::Unknown => issues.push(Issue::warn(
                    "cannot tell whether the query returns exactly one element, which KEDA requires",
                    "make the outermost operation sum(...) so one element is guaranteed",
                )),
            }
            // A window shorter than two scrape intervals makes KEDA read an
            // empty result (0) while the series is fine (issue 9, item 8).
            let window = rate_window_secs(query).map(|w| w as f64);
            if let Some((message, fix)) =
                window.and_then(|w| super::prometheus::window_shortfall(ctx, w))
            {
                issues.push(Issue::fail(format!("the trigger's query: {message}"), fix));
            }
        }
    }

    let raw_threshold = t.metadata.get("threshold");
    match (raw_threshold, t.threshold()) {
        (None, _) => issues.push(Issue::fail(
            "the prometheus trigger has no threshold (required)",
            "set metadata.threshold: \"1\" (one pod per session)",
        )),
        (Some(raw), None) => issues.push(Issue::fail(
            format!("threshold {raw:?} is not a number"),
            "set metadata.threshold: \"1\" (one pod per session)",
        )),
        (Some(_), Some(th)) if th <= 0.0 => issues.push(Issue::fail(
            format!("threshold {} must be above 0", num(th)),
            "set metadata.threshold: \"1\" (one pod per session)",
        )),
        (Some(_), Some(th)) => {
            let mut line = format!(
                "threshold: {} → desired pods = ceil(sessions / {})",
                num(th),
                num(th)
            );
            if let Ok(s) = sessions(ctx) {
                line.push_str(&format!(
                    " = ceil({} / {}) = {}",
                    num(s),
                    num(th),
                    (s / th).ceil()
                ));
            }
            evidence.push(line);
            if (th - 1.0).abs() > 1e-9 {
                issues.push(Issue::warn(
                    format!(
                        "threshold {}: the HPA wants ceil(sessions / {}) pods, not one per session",
                        num(th),
                        num(th)
                    ),
                    "set metadata.threshold: \"1\" for pod-per-session",
                ));
            }
        }
    }

    match t.metric_type.as_deref() {
        None | Some("") | Some("AverageValue") => {
            evidence.push("metricType: AverageValue (per pod: desired = ceil(value / threshold))".to_string());
        }
        Some("Value") => issues.push(Issue::warn(
            "metricType Value: the HPA scales by current pods × value / threshold, which keeps growing while sessions stay flat",
            "remove metricType (AverageValue is the default) for pod-per-session",
        )),
        Some(other) => issues.push(Issue::fail(
            format!("metricType {other} is not supported by the prometheus scaler (AverageValue or Value)"),
            "remove metricType (AverageValue is the default)",
        )),
    }

    if let Some(addr) = t.metadata.get("serverAddress") {
        let note = match same_prometheus(addr, &ctx.settings.prometheus) {
            Some(true) => "the Prometheus the plugin reads",
            Some(false) => {
                "not the Prometheus the plugin reads: KEDA's numbers may differ from the plugin's"
            }
            None => "cannot compare with the plugin's Prometheus",
        };
        evidence.push(format!(
            "serverAddress: {addr} ({note}: {})",
            ctx.settings.prometheus
        ));
    }

    combine(
        issues,
        format!(
            "prometheus trigger queries the sessions as one element, threshold {} (1 pod per session)",
            t.threshold().map_or("?".to_string(), num)
        ),
        evidence,
        look,
    )
}

/// One of KEDA's Deployments, as its pods' verdict needs it.
struct KedaPods<'a> {
    pods: Option<&'a Vec<crate::snapshot::PodInfo>>,
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
        return not_read(ctx, k.source, &format!("the {} pods were", k.what));
    };
    let ns = &ctx.settings.keda_namespace;
    let cmd = format!("kubectl get pods -n {ns} -l {}", k.selector);
    if pods.is_empty() {
        return Verdict::fail(format!(
            "no {} pods in namespace {ns} with labels {}",
            k.what, k.selector
        ))
        .fix(k.none_fix)
        .command(cmd);
    }
    let is_ready =
        |p: &&crate::snapshot::PodInfo| p.phase == "Running" && p.ready && p.deleting.is_none();
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
            first.name, first.name, k.down
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

fn operator(ctx: &Ctx) -> Verdict {
    keda_pods(
        ctx,
        KedaPods {
            pods: ctx.snap.operator_pods.as_ref(),
            source: "keda-operator",
            what: "KEDA operator",
            selector: &ctx.settings.keda_operator_selector,
            none_fix: "install KEDA, or set kedaNamespace / kedaOperatorSelector to where its operator runs (`kubectl get pods -A -l app=keda-operator`)",
            down: "without the operator nothing scales",
            some_fix: "look at the pods that are not Ready (a stuck rollout or a crash loop); the leader among the Ready ones keeps scaling",
        },
    )
}

fn metrics_apiserver(ctx: &Ctx) -> Verdict {
    keda_pods(
        ctx,
        KedaPods {
            pods: ctx.snap.metrics_apiserver_pods.as_ref(),
            source: "keda-metrics-apiserver",
            what: "keda-operator-metrics-apiserver",
            selector: &ctx.settings.keda_metrics_apiserver_selector,
            none_fix: "KEDA's Helm chart always installs keda-operator-metrics-apiserver: reinstall or repair the release, or set kedaMetricsApiserverSelector to its pods' labels (`kubectl get apiservice v1beta1.external.metrics.k8s.io` names its Service)",
            down: "while it is down external.metrics.k8s.io is unavailable and the HPA cannot read s0-prometheus (FailedGetExternalMetric), so pods stop following sessions",
            some_fix: "look at the pods that are not Ready; the API server's calls to an unready replica fail, so the HPA sees the metric only some of the time",
        },
    )
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
) -> impl DoubleEndedIterator<Item = &'a crate::snapshot::LogLine> + 'a {
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

/// One evidence line naming the other ScaledObjects whose errors the log
/// holds, so the engineer sees them without taking them for ours.
fn other_objects_context(ctx: &Ctx) -> Option<String> {
    let mut others: Vec<String> = ctx
        .snap
        .operator_logs
        .iter()
        .flatten()
        .filter(|l| keda_log::is_error(&l.line))
        .filter_map(
            |l| match keda_log::about(&l.line, ctx.ns(), &ctx.settings.scaled_object) {
                keda_log::About::Other(o) => Some(o),
                _ => None,
            },
        )
        .collect();
    let total = others.len();
    others.sort();
    others.dedup();
    (total > 0).then(|| {
        format!(
            "context, not counted: {total} error line(s) about other ScaledObjects ({})",
            others.join(", ")
        )
    })
}

fn operator_logs(ctx: &Ctx) -> Verdict {
    let gap = ctx.snap.gap("keda-operator-logs");
    let ns = &ctx.settings.keda_namespace;
    let grep = format!(
        "kubectl logs -n {ns} -l {} --tail=500 | grep -E 'prometheus_scaler|scale_handler|{}'",
        ctx.settings.keda_operator_selector, ctx.settings.scaled_object
    );
    let not_logged = "KEDA never logs the runbook's \"querying prometheus\": successful queries are silent at info level; failures log `error executing prometheus query` (prometheus_scaler) and `error getting scale decision` (scale_handler)";
    match (&ctx.snap.operator_logs, gap) {
        (Some(_), _) => {}
        (None, Some(_)) => return not_read(ctx, "keda-operator-logs", "the operator logs were"),
        (None, None) => {
            return Verdict::skip(
                "the KEDA operator logs were not collected (no Running operator pod, or `status` only)",
            );
        }
    }
    let ours: Vec<&crate::snapshot::LogLine> = our_log_lines(ctx).collect();
    let errors: Vec<&crate::snapshot::LogLine> = ours
        .iter()
        .copied()
        .filter(|l| is_scaler_error(&l.line))
        .collect();
    let context = other_objects_context(ctx);
    if errors.is_empty() {
        if gap.is_some() {
            let v = not_read(ctx, "keda-operator-logs", "the operator logs were");
            return Verdict {
                message: format!(
                    "no scaler errors in the {} lines about {} read, but some operator logs could not be read: {}",
                    ours.len(),
                    ctx.settings.scaled_object,
                    v.message
                ),
                ..v
            }
            .evidence(not_logged);
        }
        let v = Verdict::pass(format!(
            "no scaler errors in {} KEDA operator log lines about {} (success is silent)",
            ours.len(),
            ctx.settings.scaled_object
        ))
        .evidence(not_logged);
        return match context {
            Some(c) => v.evidence(c),
            None => v,
        };
    }
    // Newest last in the snapshot: quote the newest three, newest first.
    let newest = errors.last().expect("not empty");
    let mut v = Verdict::fail(format!(
        "{} scaler error line(s) in the KEDA operator logs, newest: {}",
        errors.len(),
        truncate(newest.line.trim(), 120)
    ))
    .fix(scaler_error_fix(&newest.line))
    .command(grep);
    for l in errors.iter().rev().take(3) {
        v = v.evidence(format!(
            "{}: {}",
            l.pod,
            truncate(l.line.trim(), QUOTE_CHARS)
        ));
    }
    if let Some(g) = gap {
        v = v.evidence(format!(
            "some operator logs could not be read: {}",
            g.message
        ));
    }
    if let Some(c) = context {
        v = v.evidence(c);
    }
    v.evidence(not_logged)
}

fn events(ctx: &Ctx) -> Verdict {
    let Some(all) = &ctx.snap.events else {
        return not_read(ctx, "events", "events were");
    };
    let (name, ns) = (&ctx.settings.scaled_object, ctx.ns());
    let now = ctx.snap.captured_at;
    let warnings: Vec<&crate::snapshot::EventInfo> = all
        .iter()
        .filter(|e| {
            e.object_kind == "ScaledObject" && e.object_name == *name && e.type_ == "Warning"
        })
        .collect();
    if warnings.is_empty() {
        return Verdict::pass(format!("no Warning events on ScaledObject {name}"));
    }
    let seen_secs =
        |e: &crate::snapshot::EventInfo| e.last_seen.map(|t| now.as_second() - t.as_second());
    // Newest first; an event without a time counts as recent.
    let mut sorted = warnings;
    sorted.sort_by_key(|e| seen_secs(e).unwrap_or(i64::MIN));
    let newest = sorted[0];
    let when = |e: &crate::snapshot::EventInfo| {
        e.last_seen.map_or("time unknown".to_string(), |t| {
            format!("{} ago", age(now, t))
        })
    };
    let recent = sorted
        .iter()
        .any(|e| seen_secs(e).is_none_or(|s| s <= RECENT_EVENT_SECS));
    let summary = format!(
        "{} Warning event(s) on ScaledObject {name}, newest {}: {} ({})",
        sorted.len(),
        newest.reason,
        truncate(&newest.message, 120),
        when(newest)
    );
    let fix = match newest.reason.as_str() {
        "KEDAScalerFailed" => scaler_error_fix(&newest.message),
        "ScaledObjectCheckFailed" => {
            "fix the ScaledObject spec or its scale target as the message says".to_string()
        }
        "KEDAScaleTargetActivationFailed" | "KEDAScaleTargetDeactivationFailed" => {
            "KEDA cannot write the Deployment's /scale: check the keda-operator's RBAC and the Deployment".to_string()
        }
        _ => "fix what the event's message says".to_string(),
    };
    let mut v = if recent {
        Verdict::fail(summary)
    } else {
        Verdict::warn(format!(
            "{summary}; none in the last {} min, so it may be over",
            RECENT_EVENT_SECS / 60
        ))
    }
    .fix(fix)
    .command(format!(
        "kubectl get events -n {ns} --field-selector involvedObject.name={name}"
    ));
    for e in sorted.iter().take(5) {
        v = v.evidence(format!(
            "{}: {} (count {}, {})",
            e.reason,
            truncate(&e.message, QUOTE_CHARS),
            e.count,
            when(e)
        ));
    }
    v
}

fn active(ctx: &Ctx) -> Verdict {
    let so = match scaled_object(ctx) {
        Ok(so) => so,
        Err(v) => return v,
    };
    if so.paused() {
        return Verdict::skip(
            "the ScaledObject is paused (see keda.paused): KEDA does not evaluate its triggers",
        );
    }
    let s = match sessions(ctx) {
        Ok(s) => s,
        Err(why) => return Verdict::skip(format!("sessions unknown: {why}")),
    };
    let trigger = so.prometheus_trigger();
    let activation = trigger
        .and_then(TriggerInfo::activation_threshold)
        .unwrap_or(KEDA_DEFAULT_ACTIVATION_THRESHOLD);
    let min = so.min_replicas_or_default();
    let cond = condition(&so.conditions, "Active");
    let status = cond.map_or("absent", |c| c.status.as_str());
    let shown = cond.map_or("no Active condition".to_string(), cond_text);
    let numbers = format!(
        "{} sessions vs activationThreshold {}",
        num(s),
        num(activation)
    );
    let cmd = describe_so(ctx);
    let evidence = format!(
        "KEDA is active when its query's value > activationThreshold; it polls every {} s",
        so.polling_interval_or_default()
    );
    if s > activation {
        if status == "True" {
            return Verdict::pass(format!("Active=True with {numbers}")).evidence(evidence);
        }
        return Verdict::fail(format!(
            "KEDA reports {shown} although {numbers}: its trigger does not see the traffic"
        ))
        .evidence(evidence)
        .fix("make the trigger's query and serverAddress match the sessions query the plugin reads (keda.trigger); if traffic started within the last pollingInterval, re-run")
        .command(cmd);
    }
    match status {
        "True" if min >= 1 => Verdict::pass(format!(
            "Active=True with {numbers}: expected, minReplicaCount {min} ≥ 1 keeps KEDA active"
        ))
        .evidence(evidence),
        "True" => Verdict::warn(format!(
            "Active=True with {numbers}: scale-to-zero will not happen while KEDA sees activity"
        ))
        .evidence(evidence)
        .fix("compare the trigger's query with the sessions query (keda.trigger); if sessions just ended, re-run after the rate window (1m) plus one pollingInterval")
        .command(cmd),
        "False" => {
            let cooling = cond.and_then(|c| c.reason.as_deref()) == Some("ScalerCooldown");
            let message = if cooling {
                format!(
                    "{shown} with {numbers}: traffic stopped, KEDA waits cooldownPeriod {} s before scaling to zero",
                    so.cooldown_period_or_default()
                )
            } else {
                format!("idle: {shown} with {numbers}")
            };
            Verdict::pass(message).evidence(evidence)
        }
        _ => Verdict::warn(format!(
            "KEDA reports {shown} with {numbers}: it could not evaluate the trigger"
        ))
        .evidence(evidence)
        .fix("see keda.ready, keda.events and keda.operator-logs for the trigger's error")
        .command(cmd),
    }
}

fn fallback(ctx: &Ctx) -> Verdict {
    let so = match scaled_object(ctx) {
        Ok(so) => so,
        Err(v) => return v,
    };
    let current = match &ctx.snap.deployment {
        Some(Lookup::Found(d)) => d.replicas.map(i64::from),
        _ => None,
    };
    let configured = so.fallback.as_ref().map(|f| {
        format!(
            "fallback: after {} failed queries KEDA holds {}",
            f.failure_threshold
                .map_or("?".to_string(), |n| n.to_string()),
            fallback_holds(f, current)
        )
    });
    if let Some(c) = condition(&so.conditions, "Fallback").filter(|c| c.status == "True") {
        let mut v = Verdict::fail(format!(
            "KEDA is on fallback replicas, not following sessions: {}",
            cond_text(c)
        ))
        .fix("fix the failing trigger (keda.operator-logs, keda.events); fallback ends once a query succeeds")
        .command(describe_so(ctx));
        if let Some(text) = configured {
            v = v.evidence(text);
        }
        return v;
    }
    match configured {
        Some(text) => Verdict::pass(format!("not on fallback; {text}")),
        None => Verdict::pass("not on fallback; no fallback configured: a Prometheus outage freezes scaling")
            .evidence("without spec.fallback a failing query leaves Ready=False/TriggerError and the pod count where it was (no scale-to-zero either)"),
    }
}

/// How many replicas fallback holds, by `fallback.behavior` (kedacore/keda
/// v2.20.2 `pkg/fallback/fallback.go` `doFallback`; KEDA 2.17+ reads the
/// field, older versions and an unset field mean `static`).
fn fallback_holds(f: &crate::snapshot::Fallback, current: Option<i64>) -> String {
    let r = f.replicas.map_or("?".to_string(), |n| n.to_string());
    let cur = current.map_or("?".to_string(), |n| n.to_string());
    let pick = |choose: fn(i64, i64) -> i64| match (current, f.replicas) {
        (Some(c), Some(r)) => choose(c, r).to_string(),
        _ => "?".to_string(),
    };
    match f.behavior.as_deref() {
        None | Some("") | Some("static") => format!("{r} replicas (behavior static)"),
        Some("currentReplicas") => format!(
            "the current replica count, {cur} now (behavior currentReplicas; fallback.replicas {r} unused)"
        ),
        Some("currentReplicasIfHigher") => format!(
            "{} replicas: the current {cur} if higher than fallback.replicas {r} (behavior currentReplicasIfHigher)",
            pick(i64::max)
        ),
        Some("currentReplicasIfLower") => format!(
            "{} replicas: the current {cur} if lower than fallback.replicas {r} (behavior currentReplicasIfLower)",
            pick(i64::min)
        ),
        Some("scalingModifiers") => {
            "what the scalingModifiers formula gives (behavior scalingModifiers)".to_string()
        }
        Some(other) => format!(
            "{r} replicas (behavior {other:?} is unknown; KEDA's fallback treats it as static)"
        ),
    }
}

fn min_replicas(ctx: &Ctx) -> Verdict {
    let so = match scaled_object(ctx) {
        Ok(so) => so,
        Err(v) => return v,
    };
    let min = so.min_replicas_or_default();
    let source = if so.min_replicas.is_some() {
        ""
    } else {
        " (KEDA default)"
    };
    let mut v = if min <= 0 {
        Verdict::pass(format!(
            "minReplicaCount {min}{source}: scales to zero without sessions"
        ))
    } else {
        Verdict::warn(format!(
            "minReplicaCount {min}: {min} pod(s) run without sessions by design, so the sessions/pod ratio reads low when idle"
        ))
        .fix("set spec.minReplicaCount: 0 unless warm pods are intended (the runbook expects 0 pods at 0 sessions)")
        .command(so_jsonpath(ctx, "{.spec.minReplicaCount}"))
    };
    if let Some(idle) = so.idle_replicas {
        v = v.evidence(format!(
            "idleReplicaCount {idle}: KEDA parks the Deployment at {idle} while inactive and jumps to minReplicaCount {min} when active (only 0 is supported; it must be below minReplicaCount)"
        ));
    }
    v
}

fn max_replicas(ctx: &Ctx) -> Verdict {
    let so = match scaled_object(ctx) {
        Ok(so) => so,
        Err(v) => return v,
    };
    let max = so.max_replicas_or_default();
    let source = if so.max_replicas.is_some() {
        String::new()
    } else {
        format!(" (KEDA default {KEDA_DEFAULT_MAX_REPLICAS})")
    };
    let s = match sessions(ctx) {
        Ok(s) => s,
        Err(why) => {
            return Verdict::skip(format!(
                "sessions unknown ({why}); maxReplicaCount {max}{source}"
            ));
        }
    };
    let th = threshold_or_one(so);
    let desired = (s / th).ceil().max(0.0);
    let pods = ctx.snap.prom_value(promql::RUNNING_PODS).or_else(|| {
        ctx.snap
            .pods
            .as_ref()
            .map(|p| p.iter().filter(|p| p.phase == "Running").count() as f64)
    });
    let pods_text = pods.map_or("unknown".to_string(), num);
    let arithmetic = format!(
        "desired = ceil({} sessions / threshold {}) = {}; maxReplicaCount {max}{source}; Running pods {pods_text}",
        num(s),
        num(th),
        num(desired)
    );
    let hpa_cmd = format!(
        "kubectl get hpa {} -n {}",
        ctx.snap.keda_hpa_name(&ctx.settings.scaled_object),
        ctx.ns()
    );
    let fix = "raise spec.maxReplicaCount above the peak session count, and check that the Karpenter NodePool limits can hold that many pods";
    let max_f = max as f64;
    if desired > max_f && pods.is_some_and(|p| p >= max_f) {
        return Verdict::fail(format!(
            "capped: {} sessions want {} pods but maxReplicaCount is {max} and {pods_text} pods run: {} session(s) have no pod",
            num(s),
            num(desired),
            num(desired - max_f)
        ))
        .evidence(arithmetic)
        .fix(fix)
        .command(hpa_cmd);
    }
    if desired >= 0.8 * max_f {
        return Verdict::warn(format!(
            "{} sessions want {} pods, {}% of maxReplicaCount {max}",
            num(s),
            num(desired),
            num((100.0 * desired / max_f).round())
        ))
        .evidence(arithmetic)
        .fix(fix)
        .command(hpa_cmd);
    }
    Verdict::pass(format!(
        "{} sessions want {} pods, maxReplicaCount {max}{source}",
        num(s),
        num(desired)
    ))
    .evidence(arithmetic)
}

fn activation_threshold(ctx: &Ctx) -> Verdict {
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

fn median_pod_start(ctx: &Ctx) -> Option<(i64, usize)> {
    let mut starts: Vec<i64> = ctx
        .snap
        .pods
        .as_ref()?
        .iter()
        .filter_map(|p| {
            let d = p.ready_since?.as_second() - p.created?.as_second();
            (d >= 0).then_some(d)
        })
        .collect();
    if starts.is_empty() {
        return None;
    }
    starts.sort_unstable();
    let n = starts.len();
    let median = if n % 2 == 1 {
        starts[n / 2]
    } else {
        (starts[n / 2 - 1] + starts[n / 2]) / 2
    };
    Some((median, n))
}

fn polling_interval(ctx: &Ctx) -> Verdict {
    let so = match scaled_object(ctx) {
        Ok(so) => so,
        Err(v) => return v,
    };
    let p = so.polling_interval_or_default();
    let p_source = if so.polling_interval.is_some() {
        String::new()
    } else {
        format!(", KEDA default {KEDA_DEFAULT_POLLING_INTERVAL}")
    };
    let target = ctx.settings.targets.scale_up_seconds;
    let (start, start_source) = match median_pod_start(ctx) {
        Some((m, n)) => (m, format!("median creation→Ready of {n} pod(s)")),
        None => (
            DEFAULT_POD_START_SECS,
            "assumed, no pod with a Ready time".to_string(),
        ),
    };
    let appear = p + SCRAPE_LAG_SECS;
    let ready_at = appear + start;
    let ready_limit = target + RUNBOOK_READY_ALLOWANCE_SECS as f64;
    let evidence = vec![
        format!(
            "pod appears ≈ {p} s (pollingInterval{p_source}) + {SCRAPE_LAG_SECS} s (scrape/rate lag) = {appear} s vs target {} s",
            num(target)
        ),
        format!(
            "pod Ready ≈ {appear} s + {start} s ({start_source}) = {ready_at} s vs {} s (runbook Test 1: Pending at 30 s, Running at 45 s)",
            num(ready_limit)
        ),
    ];
    let cmd = so_jsonpath(ctx, "{.spec.pollingInterval}");
    let mut issues = Vec::new();
    if p < 5 {
        issues.push(Issue::warn(
            format!(
                "pollingInterval {p} s: KEDA queries Prometheus every {p} s without scaling faster (the HPA syncs every {HPA_SYNC_SECS} s)"
            ),
            "raise spec.pollingInterval to 5 or more (runbook Scaling Too Fast: 5 → 10 or 15 if it flaps)",
        ));
    }
    if appear as f64 > target {
        let room = (target as i64 - SCRAPE_LAG_SECS).max(1);
        issues.push(Issue::warn(
            format!(
                "worst-case scale-up ≈ {p} s pollingInterval + {SCRAPE_LAG_SECS} s metric lag = {appear} s > {} s target",
                num(target)
            ),
            format!(
                "lower spec.pollingInterval to ≤ {room} s (runbook Scaling Too Slow, Check 2: 5 → 3)"
            ),
        ));
    } else if ready_at as f64 > ready_limit {
        issues.push(Issue::warn(
            format!(
                "a new pod is Ready only after ≈ {ready_at} s ({appear} s to appear + {start} s to start) > {} s",
                num(ready_limit)
            ),
            "pod start dominates: see pods.startup (image size, readiness probe, nodes from Karpenter); pollingInterval cannot win it back",
        ));
    }
    combine(
        issues,
        format!(
            "pollingInterval {p} s{p_source}: a pod appears within ≈ {appear} s (target {} s), Ready ≈ {ready_at} s",
            num(target)
        ),
        evidence,
        cmd,
    )
}

fn cooldown(ctx: &Ctx) -> Verdict {
    let so = match scaled_object(ctx) {
        Ok(so) => so,
        Err(v) => return v,
    };
    let target = ctx.settings.targets.scale_down_seconds;
    let p = so.polling_interval_or_default();
    let cd = so.cooldown_period_or_default();
    let cd_source = if so.cooldown_period.is_some() {
        ""
    } else {
        ", KEDA default"
    };
    let query = so
        .prometheus_trigger()
        .and_then(|t| t.metadata.get("query"));
    let (w, w_source) = match query.and_then(|q| rate_window_secs(q)) {
        Some(w) => (w, "rate window of the trigger query"),
        None => (DEFAULT_RATE_WINDOW_SECS, "rate window, assumed"),
    };
    let hpa_name = ctx.snap.keda_hpa_name(&ctx.settings.scaled_object);
    let (stab, stab_source) = match (
        so.scale_down_stabilization,
        ctx.snap
            .keda_hpa(&ctx.settings.scaled_object)
            .and_then(|h| h.scale_down_stabilization),
    ) {
        (Some(s), _) => (
            s,
            "ScaledObject advanced.horizontalPodAutoscalerConfig.behavior".to_string(),
        ),
        (None, Some(s)) => (i64::from(s), format!("HPA {hpa_name}")),
        (None, None) => (
            HPA_DEFAULT_SCALE_DOWN_STABILIZATION,
            "Kubernetes default, behavior unset".to_string(),
        ),
    };
    let min = so.min_replicas_or_default();
    let to_zero = w + cd + p;
    let mut evidence = Vec::new();
    let mut issues = Vec::new();
    if min == 0 {
        evidence.push(format!(
            "to zero ≈ {w} s ({w_source}) + {cd} s (cooldownPeriod{cd_source}) + {p} s (pollingInterval) = {to_zero} s vs target {} s",
            num(target)
        ));
        if to_zero as f64 > target {
            let budget = target as i64 - w - p;
            let fix = if budget < 0 {
                format!(
                    "the {w} s rate window plus pollingInterval already exceed {} s: shorten the query's window (e.g. [30s], needs a scrape interval ≤ 15 s) and set cooldownPeriod low, or accept ≈ {to_zero} s",
                    num(target)
                )
            } else {
                format!("set spec.cooldownPeriod: {budget} (or less)")
            };
            issues.push(Issue::warn(
                format!(
                    "scale to zero takes ≈ {to_zero} s ({w} s window + {cd} s cooldownPeriod + {p} s pollingInterval) > {} s target",
                    num(target)
                ),
                fix,
            ));
        }
    } else {
        evidence.push(format!(
            "minReplicaCount {min}: no scale to zero, cooldownPeriod does not apply"
        ));
    }
    evidence.push(format!(
        "N→M shrink ≈ {w} s (window) + up to {HPA_SYNC_SECS} s (HPA sync) + {stab} s scale-down stabilization ({stab_source}); cooldownPeriod only governs 1→0"
    ));
    if stab as f64 > target {
        let suggest = ((target / 2.0).round() as i64).max(0);
        issues.push(Issue::warn(
            format!(
                "shrinking from N to M pods (not to zero) waits ≥ {stab} s of HPA scale-down stabilization ({stab_source})"
            ),
            format!(
                "on the ScaledObject set advanced: {{horizontalPodAutoscalerConfig: {{behavior: {{scaleDown: {{stabilizationWindowSeconds: {suggest}}}}}}}}} (KEDA copies it to the HPA)"
            ),
        ));
    }
    let cmd = if stab as f64 > target {
        format!(
            "kubectl get hpa {hpa_name} -n {} -o jsonpath='{{.spec.behavior.scaleDown}}'",
            ctx.ns()
        )
    } else {
        so_jsonpath(ctx, "{.spec.cooldownPeriod} {.spec.pollingInterval}")
    };
    combine(
        issues,
        format!(
            "scale-down within target {} s: to zero ≈ {}, N→M stabilization {stab} s",
            num(target),
            if min == 0 {
                format!("{to_zero} s")
            } else {
                "n/a (minReplicaCount ≥ 1)".to_string()
            }
        ),
        evidence,
        cmd,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testkit::*;
    use crate::snapshot::{Fallback, GapReason, LogLine, Lookup, Snapshot};

    fn so_mut(s: &mut Snapshot) -> &mut ScaledObjectInfo {
        match s.scaled_object.as_mut() {
            Some(Lookup::Found(so)) => so,
            _ => panic!("no ScaledObject"),
        }
    }

    fn trig_mut(s: &mut Snapshot) -> &mut TriggerInfo {
        &mut so_mut(s).triggers[0]
    }

    fn set_query(s: &mut Snapshot, q: &str) {
        trig_mut(s).metadata.insert("query".into(), q.into());
    }

    fn set_cond(s: &mut Snapshot, c: Condition) {
        let so = so_mut(s);
        so.conditions.retain(|x| x.type_ != c.type_);
        so.conditions.push(c);
    }

    /// Sets a pause annotation and the Paused=True condition KEDA sets for
    /// every kind of pause.
    fn pause_by(s: &mut Snapshot, key: &str, value: &str) {
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

    fn without_cond(s: &mut Snapshot, type_: &str) {
        so_mut(s).conditions.retain(|x| x.type_ != type_);
    }

    #[test]
    fn registry_order_and_needs_are_as_specified() {
        let got: Vec<(&str, Vec<&str>)> = CHECKS.iter().map(|c| (c.id, c.needs.to_vec())).collect();
        let want: Vec<(&str, Vec<&str>)> = vec![
            ("keda.installed", vec![]),
            ("keda.scaledobject", vec!["keda.installed"]),
            ("keda.ready", vec!["keda.scaledobject"]),
            ("keda.paused", vec!["keda.scaledobject"]),
            ("keda.trigger", vec!["keda.scaledobject"]),
            ("keda.operator", vec!["keda.installed"]),
            ("keda.metrics-apiserver", vec!["keda.installed"]),
            ("keda.operator-logs", vec!["keda.operator"]),
            ("keda.events", vec!["keda.scaledobject"]),
            ("keda.active", vec!["keda.ready", "prometheus.nginx-metric"]),
            ("keda.fallback", vec!["keda.scaledobject"]),
            ("keda.min-replicas", vec!["keda.scaledobject"]),
            ("keda.max-replicas", vec!["keda.scaledobject"]),
            ("keda.activation-threshold", vec!["keda.trigger"]),
            ("keda.polling-interval", vec!["keda.scaledobject"]),
            ("keda.cooldown", vec!["keda.scaledobject"]),
        ];
        assert_eq!(got, want);
        for c in CHECKS {
            assert_eq!(c.area, Area::Keda);
            assert!(!c.docs.what.is_empty() && !c.docs.why.is_empty() && !c.docs.fix.is_empty());
        }
    }

    #[test]
    fn healthy_snapshot_fails_nothing_and_warns_only_on_scale_down_timing() {
        let s = healthy();
        for c in CHECKS {
            let v = eval(c.eval, &s);
            match c.id {
                "keda.cooldown" => expect(&v, Outcome::Warn, "95 s"),
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

    // keda.scaledobject

    #[test]
    fn scaledobject_passes_when_it_targets_the_existing_deployment() {
        expect(
            &eval(scaled_object_check, &healthy()),
            Outcome::Pass,
            "targets Deployment spice-runner",
        );
    }

    #[test]
    fn scaledobject_missing_fails_with_the_list_command() {
        let mut s = healthy();
        s.scaled_object = Some(Lookup::Missing);
        let v = eval(scaled_object_check, &s);
        expect(
            &v,
            Outcome::Fail,
            "spice-runner-keda not found in namespace default",
        );
        assert_eq!(
            v.command.as_deref(),
            Some("kubectl get scaledobjects -n default")
        );
    }

    #[test]
    fn scaledobject_with_a_wrong_target_fails() {
        let mut s = healthy();
        so_mut(&mut s).target_name = "spice-runnr".into();
        expect(
            &eval(scaled_object_check, &s),
            Outcome::Fail,
            "targets Deployment/spice-runnr, not Deployment/spice-runner",
        );
        let mut s = healthy();
        so_mut(&mut s).target_kind = Some("StatefulSet".into());
        expect(
            &eval(scaled_object_check, &s),
            Outcome::Fail,
            "StatefulSet/spice-runner",
        );
        let mut s = healthy();
        so_mut(&mut s).target_kind = None;
        expect(&eval(scaled_object_check, &s), Outcome::Pass, "Deployment");
    }

    #[test]
    fn scaledobject_fails_when_the_deployment_does_not_exist() {
        let mut s = healthy();
        s.deployment = Some(Lookup::Missing);
        let v = eval(scaled_object_check, &s);
        expect(&v, Outcome::Fail, "does not exist");
        assert_eq!(
            v.command.as_deref(),
            Some("kubectl get deployments -n default")
        );
    }

    #[test]
    fn scaledobject_read_failures_are_errors_or_skips_never_fails() {
        let mut s = healthy();
        s.scaled_object = None;
        gap(
            &mut s,
            "scaledobject",
            GapReason::Forbidden,
            "scaledobjects is forbidden",
        );
        let v = eval(scaled_object_check, &s);
        expect(&v, Outcome::Error, "forbidden");
        assert_eq!(v.fix.as_deref(), Some("the hint"));

        let mut s = healthy();
        s.deployment = None;
        gap(
            &mut s,
            "deployment",
            GapReason::Forbidden,
            "deployments is forbidden",
        );
        expect(
            &eval(scaled_object_check, &s),
            Outcome::Error,
            "could not be checked",
        );

        let mut s = healthy();
        s.scaled_object = None;
        gap(
            &mut s,
            "scaledobject",
            GapReason::NotInstalled,
            "not served",
        );
        expect(
            &eval(scaled_object_check, &s),
            Outcome::Skip,
            "KEDA is not installed",
        );

        let mut s = healthy();
        s.scaled_object = None;
        expect(
            &eval(scaled_object_check, &s),
            Outcome::Skip,
            "not collected",
        );
    }

    // keda.ready

    #[test]
    fn ready_true_passes() {
        expect(&eval(ready, &healthy()), Outcome::Pass, "Ready=True");
    }

    #[test]
    fn ready_false_fails_quoting_reason_and_message() {
        let mut s = healthy();
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
        expect(&v, Outcome::Fail, "TriggerError: Triggers defined");
        // With the scaler's error in the events, it is quoted and drives the fix.
        s.events = Some(vec![event(
            "ScaledObject",
            "spice-runner-keda",
            "Warning",
            "KEDAScalerFailed",
            "Get \"http://prometheus.monitoring.svc:9090/api/v1/query\": dial tcp: lookup prometheus.monitoring.svc: no such host",
            30,
        )]);
        let quoted = eval(ready, &s);
        assert!(
            quoted.evidence.iter().any(|e| e.contains("no such host")),
            "{quoted:#?}"
        );
        assert!(
            quoted
                .fix
                .as_deref()
                .unwrap_or("")
                .contains("serverAddress"),
            "{quoted:#?}"
        );
        assert_eq!(
            v.command.as_deref(),
            Some("kubectl describe scaledobject spice-runner-keda -n default")
        );
    }

    #[test]
    fn ready_unknown_or_absent_warns() {
        let mut s = healthy();
        set_cond(
            &mut s,
            cond(
                "Ready",
                "Unknown",
                "PartialTriggerError",
                "Some triggers defined in ScaledObject are not working correctly",
            ),
        );
        expect(&eval(ready, &s), Outcome::Warn, "PartialTriggerError");
        without_cond(&mut s, "Ready");
        expect(&eval(ready, &s), Outcome::Warn, "no Ready condition");
    }

    #[test]
    fn checks_of_the_scaledobject_skip_or_error_when_it_was_not_read() {
        let mut s = healthy();
        s.scaled_object = Some(Lookup::Missing);
        expect(&eval(ready, &s), Outcome::Skip, "no ScaledObject");
        let mut s = healthy();
        s.scaled_object = None;
        gap(&mut s, "scaledobject", GapReason::Timeout, "took too long");
        // keda.events reads only the event list.
        for c in CHECKS
            .iter()
            .filter(|c| c.needs.contains(&"keda.scaledobject") && c.id != "keda.events")
        {
            let v = eval(c.eval, &s);
            assert_eq!(v.outcome, Outcome::Error, "{}: {v:#?}", c.id);
        }
    }

    // keda.paused

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

    // keda.trigger

    #[test]
    fn trigger_with_the_runbook_query_passes() {
        let v = eval(trigger, &healthy());
        expect(&v, Outcome::Pass, "threshold 1");
        assert!(
            v.evidence
                .iter()
                .any(|e| e.contains("the sessions query the plugin uses"))
        );
        assert!(v.evidence.iter().any(|e| e.contains("ceil(3 / 1) = 3")));
        assert!(
            v.evidence
                .iter()
                .any(|e| e.contains("(the Prometheus the plugin reads")),
            "{:#?}",
            v.evidence
        );
    }

    #[test]
    fn trigger_with_an_equivalent_query_passes() {
        let mut s = healthy();
        set_query(
            &mut s,
            "sum(\n  rate(nginx_http_requests_total{job=\"nginx\", service=\"spice-runner-nginx\"}[2m])\n)",
        );
        expect(&eval(trigger, &s), Outcome::Pass, "one element");
        let mut s = healthy();
        trig_mut(&mut s).metadata.insert(
            "serverAddress".into(),
            "http://thanos-query.monitoring:9090".into(),
        );
        let v = eval(trigger, &s);
        expect(&v, Outcome::Pass, "one element");
        assert!(
            v.evidence
                .iter()
                .any(|e| e.contains("not the Prometheus the plugin reads"))
        );
    }

    #[test]
    fn missing_prometheus_trigger_fails() {
        let mut s = healthy();
        trig_mut(&mut s).type_ = "cpu".into();
        expect(
            &eval(trigger, &s),
            Outcome::Fail,
            "no prometheus trigger (triggers: cpu)",
        );
        so_mut(&mut s).triggers.clear();
        expect(&eval(trigger, &s), Outcome::Fail, "triggers: none");
    }

    #[test]
    fn query_without_aggregation_fails_with_multiple_elements() {
        let mut s = healthy();
        set_query(
            &mut s,
            r#"rate(nginx_http_requests_total{service="spice-runner-nginx"}[1m])"#,
        );
        let v = eval(trigger, &s);
        expect(&v, Outcome::Fail, "returned multiple elements");
        assert!(v.fix.unwrap().contains("sum("));
        set_query(
            &mut s,
            r#"nginx_http_requests_total{service="spice-runner-nginx"}"#,
        );
        expect(&eval(trigger, &s), Outcome::Fail, "multiple elements");
        set_query(
            &mut s,
            r#"scalar(sum(rate(nginx_http_requests_total{service="spice-runner-nginx"}[1m])))"#,
        );
        expect(&eval(trigger, &s), Outcome::Fail, "scalar");
    }

    #[test]
    fn query_of_another_service_or_with_a_status_matcher_fails() {
        let mut s = healthy();
        set_query(
            &mut s,
            r#"sum(rate(nginx_http_requests_total{service="other-nginx"}[1m]))"#,
        );
        expect(&eval(trigger, &s), Outcome::Fail, "another service");
        set_query(
            &mut s,
            r#"sum(rate(nginx_http_requests_total{service="spice-runner-nginx", status="200"}[1m]))"#,
        );
        expect(&eval(trigger, &s), Outcome::Fail, "status label");
    }

    #[test]
    fn trigger_warnings() {
        let mut s = healthy();
        set_query(&mut s, "sum(rate(nginx_http_requests_total[1m]))");
        expect(&eval(trigger, &s), Outcome::Warn, "no service matcher");
        set_query(&mut s, "sum(game_sessions_active)");
        expect(
            &eval(trigger, &s),
            Outcome::Warn,
            "does not read nginx_http_requests_total",
        );
        set_query(&mut s, "spice:sessions:rate1m");
        expect(&eval(trigger, &s), Outcome::Warn, "cannot tell");

        let mut s = healthy();
        trig_mut(&mut s)
            .metadata
            .insert("threshold".into(), "2".into());
        let v = eval(trigger, &s);
        expect(&v, Outcome::Warn, "ceil(sessions / 2)");
        assert!(
            v.evidence.iter().any(|e| e.contains("ceil(3 / 2) = 2")),
            "{:#?}",
            v.evidence
        );

        let mut s = healthy();
        trig_mut(&mut s).metric_type = Some("Value".into());
        expect(&eval(trigger, &s), Outcome::Warn, "metricType Value");

        let mut s = healthy();
        let mut cpu = so_mut(&mut s).triggers[0].clone();
        cpu.type_ = "cpu".into();
        so_mut(&mut s).triggers.push(cpu);
        expect(
            &eval(trigger, &s),
            Outcome::Warn,
            "1 other trigger(s) (cpu)",
        );
    }

    #[test]
    fn bad_threshold_fails() {
        let mut s = healthy();
        trig_mut(&mut s).metadata.remove("threshold");
        expect(&eval(trigger, &s), Outcome::Fail, "no threshold");
        trig_mut(&mut s)
            .metadata
            .insert("threshold".into(), "one".into());
        expect(&eval(trigger, &s), Outcome::Fail, "\"one\" is not a number");
        trig_mut(&mut s)
            .metadata
            .insert("threshold".into(), "0".into());
        expect(&eval(trigger, &s), Outcome::Fail, "must be above 0");
        trig_mut(&mut s)
            .metadata
            .insert("threshold".into(), "1".into());
        trig_mut(&mut s).metadata.remove("query");
        expect(&eval(trigger, &s), Outcome::Fail, "no query");
    }

    #[test]
    fn failures_are_named_before_warnings() {
        let mut s = healthy();
        trig_mut(&mut s)
            .metadata
            .insert("threshold".into(), "2".into());
        set_query(
            &mut s,
            r#"rate(nginx_http_requests_total{service="spice-runner-nginx"}[1m])"#,
        );
        let v = eval(trigger, &s);
        expect(&v, Outcome::Fail, "multiple elements");
        assert!(v.message.find("multiple").unwrap() < v.message.find("threshold 2").unwrap());
    }

    #[test]
    fn query_shapes() {
        use Shape::*;
        for (q, want) in [
            (
                r#"sum(rate(nginx_http_requests_total{service="x"}[1m]))"#,
                Single,
            ),
            ("SUM(rate(x[1m]))", Single),
            ("sum by () (rate(x[1m]))", Single),
            ("(sum(x))", Single),
            ("sum(x) / sum(y)", Single),
            ("sum(x) or vector(0)", Single),
            ("ceil(sum(rate(x[1m])))", Single),
            ("max_over_time(sum(rate(x[1m]))[5m:15s])", Single),
            (r#"sum(rate(x{pod=~"a[0-9]+"}[1m]))"#, Single),
            ("quantile(0.9, x)", Single),
            ("histogram_quantile(0.9, sum by (le) (rate(x[1m])))", Many),
            ("rate(x[1m])", Many),
            ("x", Many),
            (r#"{__name__="x"}"#, Many),
            ("sum by (pod) (rate(x[1m]))", Many),
            ("sum(rate(x[1m])) by (pod)", Many),
            ("sum without (pod) (x)", Many),
            ("topk(1, x)", Many),
            ("rate(x[1m]) > 0", Many),
            ("scalar(sum(x))", Scalar),
            ("1", Scalar),
            ("job:x:rate1m", Unknown),
            ("", Unknown),
            ("sum(x", Unknown),
        ] {
            assert_eq!(shape(q), want, "{q}");
        }
    }

    #[test]
    fn trigger_window_under_two_scrape_intervals_fails() {
        let mut s = healthy();
        set_prom(&mut s, promql::NGINX_SAMPLES_5M, Some(5.0));
        let v = eval(trigger, &s);
        expect(
            &v,
            Outcome::Fail,
            "the trigger's query: a [1m] rate window holds fewer than two samples",
        );
        expect(&v, Outcome::Fail, "at least [2m]");
        set_prom(&mut s, promql::NGINX_SAMPLES_5M, Some(20.0));
        assert_eq!(eval(trigger, &s).outcome, Outcome::Pass);
    }

    #[test]
    fn rate_windows_parse() {
        assert_eq!(rate_window_secs("sum(rate(x[1m]))"), Some(60));
        assert_eq!(rate_window_secs("sum(rate(x[1m30s]))"), Some(90));
        assert_eq!(rate_window_secs("max_over_time(x[5m:15s])"), Some(300));
        assert_eq!(
            rate_window_secs(r#"sum(rate(x{pod=~"a[0-9]"}[2m]))"#),
            Some(120)
        );
        assert_eq!(rate_window_secs("sum(x)"), None);
        assert_eq!(rate_window_secs("rate(x[$__rate_interval])"), None);
    }

    // keda.operator

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

    // keda.metrics-apiserver

    #[test]
    fn metrics_apiserver_outcomes_name_the_pod() {
        expect(
            &eval(metrics_apiserver, &healthy()),
            Outcome::Pass,
            "1/1 keda-operator-metrics-apiserver pods Running and Ready",
        );
        let mut s = healthy();
        {
            let p = &mut s.metrics_apiserver_pods.as_mut().unwrap()[0];
            p.ready = false;
            p.restarts = 6;
            p.containers[0].ready = false;
            p.containers[0].waiting_reason = Some("CrashLoopBackOff".into());
        }
        let v = eval(metrics_apiserver, &s);
        expect(
            &v,
            Outcome::Fail,
            "0/1 keda-operator-metrics-apiserver pods Ready (keda-operator-metrics-apiserver-5c7d9f8b6-p4t7n: CrashLoopBackOff, 6 restarts)",
        );
        assert!(v.fix.unwrap().contains("FailedGetExternalMetric"));
        assert_eq!(
            v.command.as_deref(),
            Some(
                "kubectl get pods -n keda -l app.kubernetes.io/name=keda-operator-metrics-apiserver"
            )
        );
        s.metrics_apiserver_pods = Some(vec![]);
        expect(
            &eval(metrics_apiserver, &s),
            Outcome::Fail,
            "no keda-operator-metrics-apiserver pods",
        );
        s.metrics_apiserver_pods = None;
        gap(
            &mut s,
            "keda-metrics-apiserver",
            GapReason::Forbidden,
            "pods is forbidden",
        );
        expect(&eval(metrics_apiserver, &s), Outcome::Error, "forbidden");
    }

    // keda.ready with KEDA 2.20's HPA health

    #[test]
    fn hpa_health_in_ready_warns_and_never_fails_keda_ready() {
        // v2.20.0–2.20.1: Ready False HPAMetricsUnavailable, KEDA itself fine.
        let mut s = healthy();
        set_cond(
            &mut s,
            cond(
                "Ready",
                "False",
                "HPAMetricsUnavailable",
                "ScaledObject is configured correctly but HPA is not healthy: FailedGetExternalMetric",
            ),
        );
        let v = eval(ready, &s);
        expect(&v, Outcome::Warn, "KEDA reports its HPA unhealthy");
        assert!(v.fix.unwrap().contains("keda-operator-metrics-apiserver"));
        // ScalingDegraded without a failure of KEDA's own.
        set_cond(
            &mut s,
            cond(
                "Ready",
                "False",
                "ScalingDegraded",
                "Not ready because HPA is not healthy: FailedGetExternalMetric and SO is not healthy: PartialTriggerError - Some triggers defined in ScaledObject are not working correctly",
            ),
        );
        expect(&eval(ready, &s), Outcome::Warn, "ScalingDegraded");
        // ScalingDegraded over a TriggerError: KEDA's trigger is the cause.
        set_cond(
            &mut s,
            cond(
                "Ready",
                "False",
                "ScalingDegraded",
                "Not ready because HPA is not healthy: FailedGetExternalMetric and SO is not healthy: TriggerError - Triggers defined in ScaledObject are not working correctly",
            ),
        );
        let v = eval(ready, &s);
        expect(&v, Outcome::Fail, "is not ready");
        assert!(v.fix.unwrap().contains("fix the trigger first"));
        // v2.20.2: Ready True, HPAActive False.
        let mut s = healthy();
        so_mut(&mut s).conditions.push(cond(
            "HPAActive",
            "False",
            "FailedGetExternalMetric",
            "HPA is not actively scaling: the HPA was unable to compute the replica count",
        ));
        expect(
            &eval(ready, &s),
            Outcome::Warn,
            "but HPAActive=False (FailedGetExternalMetric",
        );
        so_mut(&mut s).conditions.last_mut().unwrap().status = "True".into();
        expect(&eval(ready, &s), Outcome::Pass, "Ready=True");
    }

    // keda.operator-logs

    fn log(line: &str) -> LogLine {
        LogLine {
            pod: "keda-operator-6b8f9d7c5d-xk2lp".into(),
            line: line.into(),
        }
    }

    #[test]
    fn clean_logs_pass_and_say_querying_prometheus_is_never_logged() {
        let mut s = healthy();
        s.operator_logs = Some(vec![log(
            "2026-11-27T11:59:00Z\tINFO\tReconciling ScaledObject\t{\"controllerKind\": \"ScaledObject\", \"ScaledObject\": {\"name\":\"spice-runner-keda\",\"namespace\":\"default\"}, \"namespace\": \"default\", \"name\": \"spice-runner-keda\"}",
        )]);
        let v = eval(operator_logs, &s);
        expect(&v, Outcome::Pass, "no scaler errors in 1");
        assert!(
            v.evidence
                .iter()
                .any(|e| e.contains("never logs") && e.contains("querying prometheus"))
        );
    }

    #[test]
    fn scaler_errors_fail_quoting_three_newest_truncated() {
        let mut s = healthy();
        let long = "x".repeat(500);
        s.operator_logs = Some(vec![
            log(
                "t1\tERROR\tprometheus_scaler\terror executing prometheus query\t{\"type\": \"ScaledObject\", \"namespace\": \"default\", \"name\": \"spice-runner-keda\", \"error\": \"dial tcp 10.0.0.1:9090: connect: connection refused\"}",
            ),
            log(
                "t2\tINFO\tReconciling ScaledObject\t{\"controllerKind\": \"ScaledObject\", \"name\": \"spice-runner-keda\"}",
            ),
            log(&format!(
                "t3\tERROR\tscale_handler\terror getting scale decision\t{{\"scaledObject.Namespace\": \"default\", \"scaledObject.Name\": \"spice-runner-keda\", \"error\": \"{long}\"}}"
            )),
            log(
                "t4\tERROR\tprometheus_scaler\tprometheus query api returned error\t{\"type\": \"ScaledObject\", \"namespace\": \"default\", \"name\": \"spice-runner-keda\", \"error\": \"prometheus query api returned error. status: 400\"}",
            ),
            log(
                "t5\tERROR\tprometheus_scaler\terror executing prometheus query\t{\"type\": \"ScaledObject\", \"namespace\": \"default\", \"name\": \"spice-runner-keda\", \"error\": \"prometheus query sum(x) by (pod) returned multiple elements\"}",
            ),
        ]);
        let v = eval(operator_logs, &s);
        expect(&v, Outcome::Fail, "4 scaler error line(s)");
        assert!(v.message.contains("t5"), "{}", v.message);
        assert!(v.fix.as_deref().unwrap().contains("sum(...)"));
        let quoted: Vec<&String> = v
            .evidence
            .iter()
            .filter(|e| e.starts_with("keda-operator"))
            .collect();
        assert_eq!(quoted.len(), 3);
        assert!(quoted[0].contains("t5") && quoted[2].contains("t3"));
        assert!(
            quoted.iter().all(|q| q.chars().count() < 260),
            "{quoted:#?}"
        );
        assert!(
            v.command
                .as_deref()
                .unwrap()
                .starts_with("kubectl logs -n keda -l app.kubernetes.io/name=keda-operator")
        );
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

    #[test]
    fn operator_logs_not_read_is_error_or_skip() {
        let mut s = healthy();
        s.operator_logs = None;
        gap(
            &mut s,
            "keda-operator-logs",
            GapReason::Forbidden,
            "pods/log is forbidden",
        );
        expect(&eval(operator_logs, &s), Outcome::Error, "forbidden");
        // Partly read: what was read is clean, the rest is unknown.
        s.operator_logs = Some(vec![]);
        expect(
            &eval(operator_logs, &s),
            Outcome::Error,
            "some operator logs could not be read",
        );
        s.operator_logs = Some(vec![log(
            "t\tERROR\tprometheus_scaler\terror executing prometheus query\t{\"type\": \"ScaledObject\", \"namespace\": \"default\", \"name\": \"spice-runner-keda\", \"error\": \"x\"}",
        )]);
        expect(&eval(operator_logs, &s), Outcome::Fail, "1 scaler error");
        let mut s = healthy();
        s.operator_logs = None;
        expect(&eval(operator_logs, &s), Outcome::Skip, "not collected");
    }

    // keda.events

    #[test]
    fn no_warning_events_pass_even_with_normal_and_foreign_ones() {
        let mut s = healthy();
        s.events = Some(vec![
            event(
                "ScaledObject",
                "spice-runner-keda",
                "Normal",
                "KEDAScaleTargetActivated",
                "Scaled apps/v1.Deployment default/spice-runner from 0 to 1, triggered by s0-prometheus",
                30,
            ),
            event(
                "ScaledObject",
                "other-keda",
                "Warning",
                "KEDAScalerFailed",
                "boom",
                30,
            ),
            event("Pod", "spice-runner-keda", "Warning", "BackOff", "boom", 30),
        ]);
        expect(&eval(events, &s), Outcome::Pass, "no Warning events");
    }

    #[test]
    fn recent_warning_events_fail_quoting_reason_count_and_age() {
        let mut s = healthy();
        let mut e = event(
            "ScaledObject",
            "spice-runner-keda",
            "Warning",
            "KEDAScalerFailed",
            "prometheus query sum(x) by (pod) returned multiple elements",
            45,
        );
        e.count = 12;
        s.events = Some(vec![
            event(
                "ScaledObject",
                "spice-runner-keda",
                "Warning",
                "ScaledObjectCheckFailed",
                "Target resource doesn't exist",
                3000,
            ),
            e,
        ]);
        let v = eval(events, &s);
        expect(&v, Outcome::Fail, "newest KEDAScalerFailed");
        assert!(v.message.contains("45s ago"), "{}", v.message);
        assert_eq!(
            v.evidence[0],
            "KEDAScalerFailed: prometheus query sum(x) by (pod) returned multiple elements (count 12, 45s ago)"
        );
        assert!(v.evidence[1].contains("50m ago"));
        assert_eq!(
            v.command.as_deref(),
            Some(
                "kubectl get events -n default --field-selector involvedObject.name=spice-runner-keda"
            )
        );
    }

    #[test]
    fn only_old_warning_events_warn() {
        let mut s = healthy();
        s.events = Some(vec![event(
            "ScaledObject",
            "spice-runner-keda",
            "Warning",
            "KEDAScaleTargetActivationFailed",
            "Failed to scale apps/v1.Deployment default/spice-runner from 0 to 1",
            2400,
        )]);
        expect(&eval(events, &s), Outcome::Warn, "may be over");
    }

    #[test]
    fn events_not_read_is_error_or_skip() {
        let mut s = healthy();
        s.events = None;
        gap(
            &mut s,
            "events",
            GapReason::Forbidden,
            "events is forbidden",
        );
        expect(&eval(events, &s), Outcome::Error, "forbidden");
        let mut s = healthy();
        s.events = None;
        expect(&eval(events, &s), Outcome::Skip, "not collected");
    }

    // keda.active

    #[test]
    fn active_with_sessions_passes() {
        expect(
            &eval(active, &healthy()),
            Outcome::Pass,
            "Active=True with 3 sessions",
        );
    }

    #[test]
    fn inactive_with_sessions_fails() {
        let mut s = healthy();
        set_cond(
            &mut s,
            cond(
                "Active",
                "False",
                "ScalerNotActive",
                "Scaling is not performed because triggers are not active",
            ),
        );
        let v = eval(active, &s);
        expect(&v, Outcome::Fail, "does not see the traffic");
        assert!(v.message.contains("3 sessions vs activationThreshold 0.2"));
        let mut s = healthy();
        without_cond(&mut s, "Active");
        expect(&eval(active, &s), Outcome::Fail, "no Active condition");
    }

    #[test]
    fn active_without_sessions_warns_unless_min_replicas_keeps_it_active() {
        let mut s = healthy();
        set_prom(&mut s, promql::SESSIONS, Some(0.0));
        expect(
            &eval(active, &s),
            Outcome::Warn,
            "scale-to-zero will not happen",
        );
        so_mut(&mut s).min_replicas = Some(1);
        expect(&eval(active, &s), Outcome::Pass, "minReplicaCount 1");
    }

    #[test]
    fn inactive_without_sessions_passes_and_explains_cooldown() {
        let mut s = healthy();
        set_prom(&mut s, promql::SESSIONS, Some(0.1));
        set_cond(
            &mut s,
            cond(
                "Active",
                "False",
                "ScalerCooldown",
                "Scaler cooling down because triggers are not active",
            ),
        );
        expect(
            &eval(active, &s),
            Outcome::Pass,
            "waits cooldownPeriod 30 s",
        );
        set_cond(
            &mut s,
            cond(
                "Active",
                "False",
                "ScalerNotActive",
                "Scaling is not performed because triggers are not active",
            ),
        );
        expect(&eval(active, &s), Outcome::Pass, "idle");
        set_cond(
            &mut s,
            cond(
                "Active",
                "Unknown",
                "UnknownState",
                "ScaledObject check failed",
            ),
        );
        expect(&eval(active, &s), Outcome::Warn, "could not evaluate");
    }

    #[test]
    fn active_skips_without_sessions_or_when_paused() {
        let mut s = healthy();
        set_prom(&mut s, promql::SESSIONS, None);
        expect(&eval(active, &s), Outcome::Skip, "matched no series");
        s.prometheus.remove(promql::SESSIONS);
        gap(&mut s, "prometheus", GapReason::Unreachable, "no endpoints");
        expect(&eval(active, &s), Outcome::Skip, "no endpoints");
        let mut s = healthy();
        so_mut(&mut s)
            .annotations
            .insert(PAUSED.into(), "true".into());
        expect(&eval(active, &s), Outcome::Skip, "paused");
    }

    #[test]
    fn active_is_judged_while_only_one_direction_is_paused() {
        let mut s = healthy();
        pause_by(&mut s, PAUSED_SCALE_IN, "true");
        expect(
            &eval(active, &s),
            Outcome::Pass,
            "Active=True with 3 sessions",
        );
    }

    // keda.fallback

    #[test]
    fn fallback_outcomes() {
        let v = eval(fallback, &healthy());
        expect(&v, Outcome::Pass, "a Prometheus outage freezes scaling");
        let mut s = healthy();
        so_mut(&mut s).fallback = Some(Fallback {
            failure_threshold: Some(3),
            replicas: Some(10),
            behavior: None,
        });
        expect(
            &eval(fallback, &s),
            Outcome::Pass,
            "after 3 failed queries KEDA holds 10 replicas (behavior static)",
        );
        set_cond(
            &mut s,
            cond(
                "Fallback",
                "True",
                "FallbackExists",
                "At least one trigger is falling back on this scaled object",
            ),
        );
        let v = eval(fallback, &s);
        expect(&v, Outcome::Fail, "FallbackExists");
        assert!(v.evidence[0].contains("10 replicas"));
    }

    /// KEDA 2.17+ `fallback.behavior` decides what fallback holds; the
    /// Deployment in `healthy()` runs 3 replicas.
    #[test]
    fn fallback_behavior_decides_the_replicas_held() {
        let mut s = healthy();
        for (behavior, replicas, says) in [
            ("static", 10, "holds 10 replicas (behavior static)"),
            ("currentReplicas", 10, "the current replica count, 3 now"),
            (
                "currentReplicasIfHigher",
                2,
                "holds 3 replicas: the current 3 if higher than fallback.replicas 2",
            ),
            (
                "currentReplicasIfHigher",
                10,
                "holds 10 replicas: the current 3 if higher",
            ),
            (
                "currentReplicasIfLower",
                10,
                "holds 3 replicas: the current 3 if lower than fallback.replicas 10",
            ),
            (
                "currentReplicasIfLower",
                2,
                "holds 2 replicas: the current 3 if lower",
            ),
            ("scalingModifiers", 10, "scalingModifiers formula"),
        ] {
            so_mut(&mut s).fallback = Some(Fallback {
                failure_threshold: Some(3),
                replicas: Some(replicas),
                behavior: Some(behavior.into()),
            });
            expect(&eval(fallback, &s), Outcome::Pass, says);
        }
        s.deployment = None;
        so_mut(&mut s).fallback.as_mut().unwrap().behavior = Some("currentReplicasIfLower".into());
        expect(
            &eval(fallback, &s),
            Outcome::Pass,
            "holds ? replicas: the current ?",
        );
    }

    // keda.min-replicas

    #[test]
    fn min_replicas_outcomes() {
        expect(
            &eval(min_replicas, &healthy()),
            Outcome::Pass,
            "minReplicaCount 0",
        );
        let mut s = healthy();
        so_mut(&mut s).min_replicas = None;
        expect(&eval(min_replicas, &s), Outcome::Pass, "KEDA default");
        so_mut(&mut s).min_replicas = Some(2);
        so_mut(&mut s).idle_replicas = Some(0);
        let v = eval(min_replicas, &s);
        expect(&v, Outcome::Warn, "minReplicaCount 2");
        assert!(v.evidence[0].contains("idleReplicaCount 0"));
    }

    // keda.max-replicas

    #[test]
    fn max_replicas_outcomes() {
        expect(
            &eval(max_replicas, &healthy()),
            Outcome::Pass,
            "3 sessions want 3 pods, maxReplicaCount 200",
        );

        let mut s = healthy();
        set_prom(&mut s, promql::SESSIONS, Some(170.0));
        expect(
            &eval(max_replicas, &s),
            Outcome::Warn,
            "85% of maxReplicaCount 200",
        );

        let mut s = healthy();
        so_mut(&mut s).max_replicas = None;
        set_prom(&mut s, promql::SESSIONS, Some(130.4));
        set_prom(&mut s, promql::RUNNING_PODS, Some(100.0));
        let v = eval(max_replicas, &s);
        expect(
            &v,
            Outcome::Fail,
            "capped: 130.4 sessions want 131 pods but maxReplicaCount is 100",
        );
        assert!(v.evidence[0].contains("KEDA default 100"));

        // Pods from the pod list when Prometheus has no running-pods answer.
        s.prometheus.remove(promql::RUNNING_PODS);
        expect(
            &eval(max_replicas, &s),
            Outcome::Warn,
            "131% of maxReplicaCount 100",
        );

        let mut s = healthy();
        set_prom(&mut s, promql::SESSIONS, None);
        expect(&eval(max_replicas, &s), Outcome::Skip, "sessions unknown");
    }

    // keda.activation-threshold

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

    // keda.polling-interval

    #[test]
    fn runbook_polling_interval_passes_with_arithmetic() {
        let v = eval(polling_interval, &healthy());
        expect(&v, Outcome::Pass, "within ≈ 20 s");
        assert!(
            v.evidence[1].contains("20 s (median creation→Ready of 3 pod(s)) = 40 s"),
            "{:#?}",
            v.evidence
        );
    }

    #[test]
    fn default_polling_interval_misses_the_scale_up_target() {
        let mut s = healthy();
        so_mut(&mut s).polling_interval = None;
        let v = eval(polling_interval, &s);
        expect(
            &v,
            Outcome::Warn,
            "30 s pollingInterval + 15 s metric lag = 45 s > 30 s target",
        );
        assert!(v.fix.unwrap().contains("5 → 3"));
    }

    #[test]
    fn very_short_polling_interval_warns_about_load() {
        let mut s = healthy();
        so_mut(&mut s).polling_interval = Some(2);
        let v = eval(polling_interval, &s);
        expect(&v, Outcome::Warn, "pollingInterval 2 s");
        assert!(v.fix.unwrap().contains("10 or 15"));
    }

    #[test]
    fn slow_pod_start_warns_and_missing_ready_times_assume_20s() {
        let mut s = healthy();
        for p in s.pods.as_mut().unwrap() {
            p.ready_since = Some(p.created.unwrap() + jiff::SignedDuration::from_secs(90));
        }
        expect(
            &eval(polling_interval, &s),
            Outcome::Warn,
            "Ready only after ≈ 110 s",
        );
        s.pods = Some(vec![]);
        let v = eval(polling_interval, &s);
        expect(&v, Outcome::Pass, "Ready ≈ 40 s");
        assert!(v.evidence[1].contains("assumed"));
    }

    // keda.cooldown

    #[test]
    fn runbook_cooldown_warns_with_arithmetic_never_fails() {
        let v = eval(cooldown, &healthy());
        expect(
            &v,
            Outcome::Warn,
            "≈ 95 s (60 s window + 30 s cooldownPeriod + 5 s pollingInterval) > 60 s target",
        );
        assert!(v.message.contains("≥ 300 s"), "{}", v.message);
        let fix = v.fix.unwrap();
        assert!(fix.contains("stabilizationWindowSeconds: 30"), "{fix}");
        assert!(fix.contains("[30s]"), "{fix}");
        assert_eq!(
            v.command.as_deref(),
            Some(
                "kubectl get hpa keda-hpa-spice-runner-keda -n default -o jsonpath='{.spec.behavior.scaleDown}'"
            )
        );
    }

    #[test]
    fn fast_scale_down_settings_pass() {
        let mut s = healthy();
        set_query(
            &mut s,
            r#"sum(rate(nginx_http_requests_total{service="spice-runner-nginx"}[30s]))"#,
        );
        so_mut(&mut s).cooldown_period = Some(20);
        so_mut(&mut s).scale_down_stabilization = Some(30);
        let v = eval(cooldown, &s);
        expect(&v, Outcome::Pass, "to zero ≈ 55 s");
        assert!(v.evidence[0].contains("rate window of the trigger query"));
    }

    #[test]
    fn cooldown_reads_stabilization_from_the_hpa_and_defaults() {
        let mut s = healthy();
        s.hpas.as_mut().unwrap()[0].scale_down_stabilization = Some(30);
        let v = eval(cooldown, &s);
        expect(&v, Outcome::Warn, "scale to zero takes ≈ 95 s");
        assert!(!v.message.contains("N to M"), "{}", v.message);
        assert!(
            v.evidence[1]
                .contains("30 s scale-down stabilization (HPA keda-hpa-spice-runner-keda)")
        );

        let mut s = healthy();
        so_mut(&mut s).cooldown_period = None;
        so_mut(&mut s).scale_down_stabilization = Some(0);
        let v = eval(cooldown, &s);
        expect(&v, Outcome::Warn, "60 s window + 300 s cooldownPeriod");
        assert!(!v.message.contains("N to M"));

        let mut s = healthy();
        so_mut(&mut s).min_replicas = Some(1);
        let v = eval(cooldown, &s);
        expect(&v, Outcome::Warn, "N to M");
        assert!(!v.message.contains("scale to zero"));
    }

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
        for c in CHECKS {
            let v = (c.eval)(&Ctx {
                snap: &s,
                settings: &crate::settings::Settings::defaults(),
            });
            if matches!(v.outcome, Outcome::Warn | Outcome::Fail) {
                assert!(v.fix.is_some() && v.command.is_some(), "{}: {v:#?}", c.id);
            }
        }
    }
}
