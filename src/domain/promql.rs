//! Every PromQL string the plugin sends, in one place, built from the settings
//! with label values escaped. The runbook's flawed forms are corrected here:
//! kube-state-metrics emits a 0/1 series for every phase of every pod, so pods
//! in a phase are `sum(...)`, never `count(...)`.
//!
//! The kube-state-metrics names read here, each checked in
//! kubernetes/kube-state-metrics v2.20.0 (and present with the same labels in
//! v2.13.0): `internal/store/pod.go` (labels `namespace, pod, uid`):
//! `kube_pod_status_phase{phase}`, `kube_pod_deletion_timestamp`,
//! `kube_pod_info{node, created_by_kind}`, `kube_pod_created`,
//! `kube_pod_status_ready{condition="true"}`,
//! `kube_pod_container_status_restarts_total{container}`,
//! `kube_pod_container_status_waiting_reason{container, reason}`;
//! `internal/store/node.go` (label `node`): `kube_node_info`,
//! `kube_node_created`, `kube_node_status_condition{condition, status="true"}`;
//! `internal/store/horizontalpodautoscaler.go` (labels `namespace,
//! horizontalpodautoscaler`): `kube_horizontalpodautoscaler_status_desired_replicas`,
//! `..._status_current_replicas`, `..._spec_min_replicas`, `..._metadata_generation`;
//! `internal/store/deployment.go` (labels `namespace, deployment`):
//! `kube_deployment_metadata_generation`. No KEDA (`keda_*`) or Karpenter
//! (`karpenter_*`) metric is read.

use crate::settings::Settings;

/// Escapes a string for a double-quoted PromQL label value.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out
}

/// Escapes a string for use inside a regex label matcher (`=~"..."`).
pub fn escape_regex(value: &str) -> String {
    let mut out = String::new();
    for c in value.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    escape(&out)
}

/// A query with the purpose it serves (the Snapshot key).
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub key: &'static str,
    pub promql: String,
}

pub const SESSIONS: &str = "sessions";
pub const RUNNING_PODS: &str = "runningPods";
pub const PENDING_PODS: &str = "pendingPods";
pub const NODES: &str = "nodes";
pub const NGINX_SERIES: &str = "nginxSeries";
pub const KSM_SERIES: &str = "kubeStateMetricsSeries";
/// The running pods over the last 30 minutes (`running_pods` as a range,
/// one sample per point), read by `diagnose --symptom too-fast` for
/// `sessions.flapping`.
pub const RUNNING_PODS_30M: &str = "runningPods30m";

fn nginx(s: &Settings) -> String {
    format!(
        "nginx_http_requests_total{{service=\"{}\"}}",
        escape(&s.nginx_service)
    )
}

/// The characters Kubernetes uses in generated names: `rand.SafeEncodeString`
/// and the 5-character `generateName` suffix both draw from this alphabet
/// (k8s.io/apimachinery/pkg/util/rand/rand.go), which has no vowels, so no
/// word such as `nginx` can stand in for a hash.
const NAME_ALPHABET: &str = "bcdfghjklmnpqrstvwxz2456789";

/// A regex (RE2, anchored by Prometheus) for the pod names a Deployment's
/// ReplicaSets give their pods: `<deployment>-<pod-template-hash>-<suffix>`.
/// The pod-template-hash is `rand.SafeEncodeString(fmt.Sprint(fnv32a))`
/// (kubernetes pkg/controller/controller_utils.go `ComputeHash`), one
/// character per decimal digit of a 32-bit number: 1 to 10 characters. The
/// suffix is `utilrand.String(5)` (apiserver `names.SimpleNameGenerator`).
/// `spice-runner-nginx-5c6b8d9f47-q7wzt` has one dash-separated part too
/// many, and any other `spice-runner-*` workload's pods do as well, so only
/// the game Deployment's own pods match.
pub fn deployment_pod_regex(deployment: &str) -> String {
    format!(
        "{}-[{NAME_ALPHABET}]{{1,10}}-[{NAME_ALPHABET}]{{5}}",
        escape_regex(deployment)
    )
}

/// Pods of the Deployment: kube-state-metrics has no label selector, so match
/// the Deployment's generated pod names exactly (see `deployment_pod_regex`);
/// the runbook's `pod=~"spice-runner-.*"` also counts the nginx pods.
fn pod_matchers(s: &Settings) -> String {
    format!(
        "namespace=\"{}\", pod=~\"{}\"",
        escape(&s.namespace),
        pod_regex(s)
    )
}

/// The game pods' names: the Deployment's (see `deployment_pod_regex`), or
/// a StatefulSet's `<name>-<ordinal>` when KEDA scales one (kubernetes
/// pkg/controller/statefulset/stateful_set_utils.go `getPodName`).
pub fn pod_regex(s: &Settings) -> String {
    match &s.pod_names {
        crate::settings::PodNames::ReplicaSet => deployment_pod_regex(&s.deployment),
        crate::settings::PodNames::StatefulSet(name) => {
            format!("{}-(0|[1-9][0-9]*)", escape_regex(name))
        }
    }
}

/// Game pods in `phase`, less the ones being deleted. kube-state-metrics v2.x
/// `kube_pod_status_phase` is `status.phase` alone (ksm internal/store/pod.go
/// `createPodStatusPhaseFamilyGenerator`), and a pod being deleted keeps phase
/// Running until its containers stop: a scale-down with a long grace period
/// would still count its draining pods as Running. Deletion is
/// `kube_pod_deletion_timestamp` (emitted only while `deletionTimestamp` is
/// set), so those pods are taken out with `unless on(namespace, pod)`.
fn phase_series(s: &Settings, phase: &str) -> String {
    format!(
        "kube_pod_status_phase{{{}, phase=\"{phase}\"}} unless on(namespace, pod) kube_pod_deletion_timestamp",
        pod_matchers(s)
    )
}

/// The rate window of the sessions query, the runbook's `[1m]`.
pub const SESSIONS_WINDOW_SECS: f64 = 60.0;

/// Active sessions: the nginx request rate (each session sends ~1 req/s).
pub fn sessions(s: &Settings) -> Query {
    Query {
        key: SESSIONS,
        promql: format!("sum(rate({}[1m]))", nginx(s)),
    }
}

/// Running pods, correctly: `sum` of the 0/1 series, not the runbook's
/// `count`, and without the draining pods (see `phase_series`).
pub fn running_pods(s: &Settings) -> Query {
    Query {
        key: RUNNING_PODS,
        promql: format!("sum({})", phase_series(s, "Running")),
    }
}

pub fn pending_pods(s: &Settings) -> Query {
    Query {
        key: PENDING_PODS,
        promql: format!("sum({})", phase_series(s, "Pending")),
    }
}

/// [`running_pods`] in the form `report` and `timeline` send over days: the
/// same number, about three times cheaper for Prometheus over a range.
pub fn running_pods_over_range(s: &Settings) -> Query {
    Query {
        key: RUNNING_PODS,
        promql: phase_sum_over_range(s, "Running"),
    }
}

/// [`pending_pods`] in the form `report` and `timeline` send over days.
pub fn pending_pods_over_range(s: &Settings) -> Query {
    Query {
        key: PENDING_PODS,
        promql: phase_sum_over_range(s, "Pending"),
    }
}

/// `sum(<phase> unless on(namespace, pod) kube_pod_deletion_timestamp)` as
/// the sum of the phase less the sum of its pods being deleted:
/// `sum(P) - (sum(P and on(namespace, pod) D) or vector(0))`. The same value
/// at every step (the pods being deleted are a subset of `P`; no pod: no
/// point, as before). Over a range, Prometheus 2.x builds the output of a
/// binary operation step by step, one entry per sample: `unless` outputs
/// every game pod at every step, `and` only the few being deleted. On a
/// 2,000-pod week this is the difference between about 5.5 s and 1.8 s per
/// six hours of 15 s points (`tests/it/history_cost.rs`).
fn phase_sum_over_range(s: &Settings, phase: &str) -> String {
    let p = format!(
        "kube_pod_status_phase{{{}, phase=\"{phase}\"}}",
        pod_matchers(s)
    );
    format!("sum({p}) - (sum({p} and on(namespace, pod) kube_pod_deletion_timestamp) or vector(0))")
}

pub fn nodes() -> Query {
    Query {
        key: NODES,
        promql: "count(kube_node_info)".into(),
    }
}

/// The raw nginx series with its newest sample time (freshness).
pub fn nginx_series(s: &Settings) -> Query {
    Query {
        key: NGINX_SERIES,
        promql: format!("timestamp({})", nginx(s)),
    }
}

/// Whether kube-state-metrics' pod phase series exist at all (in any
/// namespace: the game's may legitimately have no pods when scaled to zero).
pub fn ksm_series() -> Query {
    Query {
        key: KSM_SERIES,
        promql: "count(kube_pod_status_phase)".into(),
    }
}

pub const NODE_HELD_PODS: &str = "nodeReschedulablePods";

/// Per node, in every namespace, the pods that keep Karpenter from calling
/// the node empty. Karpenter (sigs.k8s.io/karpenter v1.x
/// pkg/utils/pod/scheduling.go `IsReschedulable`) counts an active pod (not
/// Succeeded/Failed, not terminating) that no DaemonSet and no Node (a static
/// pod's mirror) owns. kube-state-metrics v2.x `kube_pod_info` carries the
/// pod's `node` and its controller's kind as `created_by_kind`. The plugin
/// lists only the game's pods; this tells a node held by another workload
/// from one Karpenter should have removed.
pub fn node_reschedulable_pods() -> Query {
    Query {
        key: NODE_HELD_PODS,
        promql: "count by (node) (kube_pod_info{node!=\"\", created_by_kind!~\"DaemonSet|Node\"} \
                 and on(namespace, pod) (kube_pod_status_phase{phase=~\"Pending|Running\"} == 1) \
                 unless on(namespace, pod) kube_pod_deletion_timestamp)"
            .into(),
    }
}

pub const SESSIONS_MAX_5M: &str = "sessionsMax5m";
pub const NGINX_SAMPLES_5M: &str = "nginxSamples5m";
pub const ALERT_RATIO_NOW: &str = "alertPodSessionRatioNow";
pub const ALERT_RATIO_FOR: &str = "alertPodSessionRatioFor";
pub const ALERT_KEDA_NOW: &str = "alertKedaNotRespondingNow";
pub const ALERT_KEDA_FOR: &str = "alertKedaNotRespondingFor";

/// The highest session rate over the last 5 minutes (is there still traffic?).
pub fn sessions_max_5m(s: &Settings) -> Query {
    Query {
        key: SESSIONS_MAX_5M,
        promql: format!("max_over_time({}[5m:15s])", sessions(s).promql),
    }
}

/// The window over which the sample spacing of the nginx series is measured.
pub const SPACING_WINDOW_SECS: f64 = 300.0;

/// The label the spacing answer carries (`domain::model::spacing`), so a
/// snapshot tells it from the sample counts older versions asked for.
pub const SPACING_LABEL: &str = "spice_spacing";
pub const SPACING_SECONDS: &str = "seconds";

/// The scrape spacing of each nginx series over the last 5 minutes, in
/// seconds: the span from its first to its last sample divided by the
/// intervals between them, which decides the shortest rate window that
/// works (`rate()` needs two samples in its window; Prometheus scrapes every
/// 1 m by default, the Prometheus Operator every 30 s).
///
/// `timestamp()` of the series at every second of the window is the time of
/// its newest sample then; its min and max are the first and last sample
/// times, and it `changes()` once per new sample. This holds at any age of
/// the series: 5 minutes divided by the samples counted in them read a
/// series a minute old at a 4 s scrape (15 samples) as 20 s, and one 30 s old
/// at a 15 s scrape (3 samples) as 100 s. A series with fewer than two intervals (three samples) has no
/// answer: too young to tell. (Scrapes closer than the 1 s step would read
/// wide; none is.) The result is labelled `spice_spacing="seconds"`.
pub fn nginx_samples_5m(s: &Settings) -> Query {
    let times = format!("timestamp({})[5m:1s]", nginx(s));
    Query {
        key: NGINX_SAMPLES_5M,
        promql: format!(
            "label_replace((max_over_time({times}) - min_over_time({times})) / (changes({times}) >= 2), \"{SPACING_LABEL}\", \"{SPACING_SECONDS}\", \"\", \"\")"
        ),
    }
}

/// How long each shipped alert's condition must hold before it fires
/// (its `for:`): `kubectl spice alerts` writes these and the alert checks
/// count the subquery points over the same windows.
pub const RATIO_ALERT_FOR_SECS: f64 = 300.0;
pub const KEDA_ALERT_FOR_SECS: f64 = 600.0;

/// The alert expressions `kubectl spice alerts` ships, now, and how long they
/// have held (`for:`): the number of subquery points where the expression had
/// a value (10 points = the whole window on every Prometheus version). The
/// very strings of the shipped rules, so a check says what the rule does.
pub fn alert_queries(s: &Settings) -> Vec<Query> {
    let ratio = pod_session_ratio_alert_expr(s);
    let keda = keda_not_responding_alert_expr(s);
    let held = |expr: &str, secs: f64, step: &str| {
        format!("count_over_time(({expr})[{}s:{step}])", secs.round() as i64)
    };
    vec![
        Query {
            key: ALERT_RATIO_NOW,
            promql: ratio.clone(),
        },
        Query {
            key: ALERT_RATIO_FOR,
            promql: held(&ratio, RATIO_ALERT_FOR_SECS, "30s"),
        },
        Query {
            key: ALERT_KEDA_NOW,
            promql: keda.clone(),
        },
        Query {
            key: ALERT_KEDA_FOR,
            promql: held(&keda, KEDA_ALERT_FOR_SECS, "1m"),
        },
    ]
}

/// What `status` asks Prometheus: the status queries plus the nginx sample
/// spacing, which the idle floor needs (`model::Idle`). `watch` polls the
/// status queries alone.
pub fn status_command_queries(s: &Settings) -> Vec<Query> {
    let mut q = status_queries(s);
    q.push(nginx_samples_5m(s));
    q
}

/// What `watch` polls: the status queries, and, every 30 s only (slow, see
/// `cluster::folded::is_slow`), the nginx sample spacing the idle floor needs
/// and which pods hold each node, so the checks each frame judges read what
/// `diagnose` reads for them.
pub fn watch_queries(s: &Settings) -> Vec<Query> {
    let mut q = status_queries(s);
    q.push(nginx_samples_5m(s));
    q.push(node_reschedulable_pods());
    q
}

/// What `diagnose` asks Prometheus: the status queries plus the chain's.
pub fn diagnose_queries(s: &Settings) -> Vec<Query> {
    let mut q = status_queries(s);
    q.push(sessions_max_5m(s));
    q.push(nginx_samples_5m(s));
    q.push(node_reschedulable_pods());
    q.extend(alert_queries(s));
    q
}

// ---------------------------------------------------------------------------
// Monitoring as code: the expressions `kubectl spice alerts` and
// `kubectl spice dashboard` print. Multi-line where a person reads them in a
// rule file (PromQL ignores the whitespace).
// ---------------------------------------------------------------------------

/// A number as PromQL reads it: `0.5`, `1.5`, `5`.
fn number(v: f64) -> String {
    let text = format!("{v}");
    if v.is_finite() { text } else { "0".into() }
}

/// Sessions per running pod (the runbook's "Sessions Per Pod Ratio" and
/// "Request Rate Per Pod"), corrected to `sum`. One line, for dashboards.
pub fn sessions_per_pod_expr(s: &Settings) -> String {
    format!("{} / {}", sessions(s).promql, running_pods(s).promql)
}

/// The PodSessionRatioAnomaly alert: sessions per running pod outside the
/// yellow band (red in the runbook's bands). The runbook wrote
/// `abs(ratio - 1) > 0.5` with `count(...)` for the pods; this uses `sum`,
/// takes the band edges from the settings (so asymmetric bands work) and
/// leaves `$value` the ratio itself. No Running pod at all counts as 0 pods
/// (`or vector(0)`), so traffic with every pod gone gives +Inf and fires,
/// while no traffic and no pods gives NaN and stays quiet. The high side
/// needs at least [`RATIO_ALERT_MIN_SESSIONS`]: below half a session the
/// traffic is not players (the exporter's own stub_status reads, probes:
/// `domain::model::Idle`), and at zero pods it would page +Inf every night.
///
/// Too few sessions per pod fires only while the running pods exceed the
/// HPA's minimum (kube-state-metrics'
/// `kube_horizontalpodautoscaler_spec_min_replicas`, which KEDA sets to
/// max(minReplicaCount, 1)): a warm pool kept by minReplicaCount at idle
/// is the design, not an anomaly (`domain::model::Scaling::expect`). Without
/// that series the minimum counts as 0, as before.
pub fn pod_session_ratio_alert_expr(s: &Settings) -> String {
    let ratio = format!(
        "(\n  sum(rate({}[5m]))\n/\n  ({} or vector(0))\n)",
        nginx(s),
        running_pods(s).promql
    );
    format!(
        "(\n{ratio} > {}\nand on()\nsum(rate({}[5m])) >= {}\n)\nor\n(\n  {ratio} < {}\n  and on()\n  ({} > on() (max(kube_horizontalpodautoscaler_spec_min_replicas{{{}}}) or vector(0)))\n)",
        number(s.bands.yellow_max),
        nginx(s),
        number(RATIO_ALERT_MIN_SESSIONS),
        number(s.bands.yellow_min),
        running_pods(s).promql,
        keda_hpa_matchers(s)
    )
}

/// The fewest sessions (req/s) over which too few pods is an anomaly: half a
/// session, the cap of the idle model's "no sessions".
pub const RATIO_ALERT_MIN_SESSIONS: f64 = 0.5;

/// The HPA KEDA makes for the ScaledObject, by the name KEDA gives it
/// (kedacore/keda v2.20.2 `controllers/keda/hpa.go` getHPAName:
/// `spec.advanced.horizontalPodAutoscalerConfig.name` when set, else
/// `keda-hpa-<scaledObject>`; `Settings::keda_hpa_name`), as
/// kube-state-metrics labels it. Without the ScaledObject read, the default.
fn keda_hpa_matchers(s: &Settings) -> String {
    format!(
        "namespace=\"{}\", horizontalpodautoscaler=\"{}\"",
        escape(&s.namespace),
        escape(&s.keda_hpa_name())
    )
}

/// The KEDANotResponding alert: the KEDA HPA's desired replicas differ from
/// its current replicas, i.e. a scale it decided is not carried out (the
/// rule's `for: 10m` makes that "for 10 minutes": a normal scale closes the
/// gap within one 15 s HPA sync). kube-state-metrics v2.x
/// `kube_horizontalpodautoscaler_status_desired_replicas` and
/// `..._current_replicas` (docs/horizontalpodautoscaler-metrics.md, labels
/// `namespace`, `horizontalpodautoscaler`); `max by` so a second
/// kube-state-metrics replica does not double them. `$value` is the desired
/// count. Steady load (desired = current) never fires it, unlike the
/// runbook's "no replica change for 10 minutes over 5 req/s".
pub fn keda_not_responding_alert_expr(s: &Settings) -> String {
    let m = keda_hpa_matchers(s);
    format!(
        "max by (namespace, horizontalpodautoscaler) (kube_horizontalpodautoscaler_status_desired_replicas{{{m}}})\n!= on(namespace, horizontalpodautoscaler)\nmax by (namespace, horizontalpodautoscaler) (kube_horizontalpodautoscaler_status_current_replicas{{{m}}})"
    )
}

/// One series per game pod that is Pending (kube-state-metrics' phase series
/// is 1 for the pod's phase); `max` so a second kube-state-metrics replica
/// does not double it. The rule's `for:` is the scale-up target.
pub fn pod_pending_alert_expr(s: &Settings) -> String {
    format!(
        "max by (namespace, pod) ({}) > 0",
        phase_series(s, "Pending")
    )
}

/// One series per game container that was in CrashLoopBackOff during the last
/// 5 minutes. A crash-looping container leaves the waiting state for the few
/// seconds it runs between back-offs, so the raw series flickers; looking
/// over a window keeps the alert from resetting each time.
pub fn pod_crashloop_alert_expr(s: &Settings) -> String {
    format!(
        "max by (namespace, pod, container) (max_over_time(kube_pod_container_status_waiting_reason{{{}, reason=\"CrashLoopBackOff\"}}[5m])) > 0",
        pod_matchers(s)
    )
}

/// LogQL: heartbeat events per second, from the configured heartbeat query
/// (`lokiQuery`, a log pipeline that selects heartbeat events).
pub fn heartbeat_rate_logql(s: &Settings) -> String {
    format!("sum(rate({} [1m]))", s.loki_query.trim())
}

/// LogQL: sessions estimated from heartbeats (events per second divided by
/// the heartbeats one session sends per second).
pub fn heartbeat_sessions_logql(s: &Settings) -> String {
    let per_session = if s.targets.heartbeat_per_session > 0.0 {
        s.targets.heartbeat_per_session
    } else {
        1.0
    };
    format!("{} / {}", heartbeat_rate_logql(s), number(per_session))
}

/// LogQL the collect step sends to Loki: heartbeat events in the last 5
/// minutes, from the configured heartbeat query (`lokiQuery`).
pub fn heartbeats_5m_logql(loki_query: &str) -> String {
    format!("sum(count_over_time({loki_query} [5m]))")
}

/// LogQL: heartbeats of the last 2 minutes with status active, per session.
/// Faro attributes arrive after `logfmt` as `event_data_<key>`, so the
/// filter is `event_data_status`, not the runbook's `status`.
pub fn active_sessions_by_id_logql(loki_query: &str) -> String {
    format!(
        "sum by (session_id) (count_over_time({loki_query} | event_data_status=\"active\" [2m]))"
    )
}

/// LogQL the collect step sends: how many sessions heartbeat as active.
pub fn active_sessions_logql(loki_query: &str) -> String {
    format!("count({})", active_sessions_by_id_logql(loki_query))
}

/// The pod success rate as PromQL: Running game pods over all game pods
/// that are neither Succeeded nor being deleted, the same fraction
/// `pods.success-rate` computes from the API server. The runbook's
/// `count(...{phase="Running"}) / count(kube_pod_status_phase)` is 1/5
/// whatever the pods do (one 0/1 series per phase of every pod).
pub fn pod_success_rate_expr(s: &Settings) -> String {
    format!(
        "sum({}) / sum(kube_pod_status_phase{{{}, phase!=\"Succeeded\"}} unless on(namespace, pod) kube_pod_deletion_timestamp)",
        phase_series(s, "Running"),
        pod_matchers(s)
    )
}

/// What `status` asks Prometheus, all sent at once.
pub fn status_queries(s: &Settings) -> Vec<Query> {
    vec![
        sessions(s),
        running_pods(s),
        pending_pods(s),
        nodes(),
        nginx_series(s),
        ksm_series(),
    ]
}

/// `report`'s pod counts over a past period of `secs` seconds, evaluated at
/// its end: game pods that existed, that were Ready at some point, that
/// failed, and container restarts (kube-state-metrics series).
pub fn pods_created_over(s: &Settings, secs: u64) -> String {
    format!(
        "count(max_over_time(kube_pod_created{{{}}}[{secs}s]))",
        pod_matchers(s)
    )
}

pub fn pods_ready_over(s: &Settings, secs: u64) -> String {
    format!(
        "count(max_over_time(kube_pod_status_ready{{{}, condition=\"true\"}}[{secs}s]) > 0)",
        pod_matchers(s)
    )
}

pub fn pods_failed_over(s: &Settings, secs: u64) -> String {
    format!(
        "count(max_over_time(kube_pod_status_phase{{{}, phase=\"Failed\"}}[{secs}s]) > 0)",
        pod_matchers(s)
    )
}

pub fn restarts_over(s: &Settings, secs: u64) -> String {
    format!(
        "sum(increase(kube_pod_container_status_restarts_total{{{}}}[{secs}s]))",
        pod_matchers(s)
    )
}

/// History keys of the series only `report`'s worst episodes and
/// `timeline` read (one round with the four above).
pub const HPA_DESIRED: &str = "hpaDesired";
pub const DEPLOYMENT_GENERATION: &str = "deploymentGeneration";
pub const HPA_GENERATION: &str = "hpaGeneration";

/// The replicas the KEDA HPA wanted (kube-state-metrics v2.x
/// `kube_horizontalpodautoscaler_status_desired_replicas`): when it rose, the
/// HPA had reacted to the sessions.
pub fn hpa_desired(s: &Settings) -> Query {
    Query {
        key: HPA_DESIRED,
        promql: format!(
            "max(kube_horizontalpodautoscaler_status_desired_replicas{{{}}})",
            keda_hpa_matchers(s)
        ),
    }
}

/// The Deployment's `metadata.generation` (kube-state-metrics v2.x
/// `kube_deployment_metadata_generation`): it grows on every spec change.
pub fn deployment_generation(s: &Settings) -> Query {
    Query {
        key: DEPLOYMENT_GENERATION,
        promql: format!(
            "max(kube_deployment_metadata_generation{{namespace=\"{}\", deployment=\"{}\"}})",
            escape(&s.namespace),
            escape(&s.deployment)
        ),
    }
}

/// The KEDA HPA's `metadata.generation`
/// (`kube_horizontalpodautoscaler_metadata_generation`): KEDA rewrites the
/// HPA's spec when the ScaledObject's min, max, trigger or behavior change.
pub fn hpa_generation(s: &Settings) -> Query {
    Query {
        key: HPA_GENERATION,
        promql: format!(
            "max(kube_horizontalpodautoscaler_metadata_generation{{{}}})",
            keda_hpa_matchers(s)
        ),
    }
}

/// Nodes created in the period that ends at the evaluation time, by node:
/// the creation time, unix seconds (`kube_node_created`, the kubelet
/// registered the Node object).
pub fn nodes_created_over(secs: u64, since: f64) -> String {
    format!("max by (node) (max_over_time(kube_node_created[{secs}s])) >= {since:.0}")
}

/// A node's Ready condition as kube-state-metrics v2.x writes it.
const READY: &str = "kube_node_status_condition{condition=\"Ready\", status=\"true\"}";

/// The first time each node created since `since` was Ready, unix seconds,
/// to the subquery's `step`: the first step at which
/// `kube_node_status_condition{condition="Ready", status="true"}` is 1
/// (`timestamp()` of an expression is the step's time). The filter to the
/// nodes created in the period is outside the subquery: a binary operation
/// between two vectors inside it costs at each of its steps (1.7 s for a
/// week at 30 s on a loaded machine, against 50 ms for this form at 15 s).
///
/// `nodes`: the nodes created in the period, when known and at most
/// [`MAX_NAMED_NODES`]: the subquery then reads only their series (its cost
/// is every node's series at every step: 33 s for a week of 500 nodes at
/// 15 s on a loaded 2-core machine, against milliseconds for a few).
pub fn nodes_first_ready_over(
    secs: u64,
    step: u64,
    since: f64,
    nodes: Option<&[String]>,
) -> String {
    let ready = match nodes.filter(|n| !n.is_empty() && n.len() <= MAX_NAMED_NODES) {
        Some(names) => {
            let names: Vec<String> = names.iter().map(|n| escape_regex(n)).collect();
            format!(
                "kube_node_status_condition{{condition=\"Ready\", status=\"true\", node=~\"{}\"}}",
                names.join("|")
            )
        }
        None => READY.to_string(),
    };
    format!(
        "min by (node) (min_over_time(timestamp({ready} == 1)[{secs}s:{step}s])) and on (node) ({})",
        nodes_created_over(secs, since)
    )
}

/// Most node names one query names (a URL of a few kilobytes).
pub const MAX_NAMED_NODES: usize = 100;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape(r#"a"b\c"#), r#"a\"b\\c"#);
        let mut s = Settings::defaults();
        s.nginx_service = "evil\"} or vector(1) #".into();
        let q = sessions(&s).promql;
        assert_eq!(
            q,
            r#"sum(rate(nginx_http_requests_total{service="evil\"} or vector(1) #"}[1m]))"#
        );
    }

    #[test]
    fn running_pods_uses_sum_not_count() {
        let q = running_pods(&Settings::defaults()).promql;
        assert!(q.starts_with("sum(kube_pod_status_phase{"), "{q}");
        assert!(
            q.contains(r#"pod=~"spice-runner-[bcdfghjklmnpqrstvwxz2456789]{1,10}-[bcdfghjklmnpqrstvwxz2456789]{5}""#),
            "{q}"
        );
        assert!(q.contains(r#"namespace="default""#), "{q}");
        assert!(q.contains(r#"phase="Running""#), "{q}");
    }

    #[test]
    fn every_pod_count_the_plugin_runs_or_ships_leaves_out_draining_pods() {
        let s = Settings::defaults();
        let draining = "unless on(namespace, pod) kube_pod_deletion_timestamp";
        for (what, q) in [
            ("running pods", running_pods(&s).promql),
            ("pending pods", pending_pods(&s).promql),
            ("PodSessionRatioAnomaly", pod_session_ratio_alert_expr(&s)),
            ("PodPending", pod_pending_alert_expr(&s)),
            ("dashboard sessions per pod", sessions_per_pod_expr(&s)),
        ] {
            assert!(q.contains(draining), "{what}: {q}");
        }
        // Every phase selector in the queries of status, diagnose and watch
        // is followed by the deletion filter.
        for q in diagnose_queries(&s).iter().map(|q| &q.promql) {
            for (at, _) in q.match_indices("phase=") {
                assert!(q[at..].contains(draining), "{q}");
            }
        }
    }

    #[test]
    fn a_statefulsets_pods_are_counted_by_their_ordinal_names() {
        let mut s = Settings::defaults();
        s.pod_names = crate::settings::PodNames::StatefulSet("game.v2".into());
        assert!(
            running_pods(&s)
                .promql
                .contains(r#"pod=~"game\\.v2-(0|[1-9][0-9]*)""#),
            "{}",
            running_pods(&s).promql
        );
    }

    #[test]
    fn node_first_ready_reads_only_the_nodes_created_when_they_are_few() {
        let names = vec!["ip-10-0-1-2.ec2.internal".to_string(), "n|x\"".to_string()];
        let q = nodes_first_ready_over(604_800, 15, 1.0, Some(&names));
        assert!(
            q.contains(r#"node=~"ip-10-0-1-2\\.ec2\\.internal|n\\|x\""#),
            "{q}"
        );
        assert!(q.contains("and on (node) (max by (node)"), "{q}");
        let all = nodes_first_ready_over(604_800, 15, 1.0, None);
        assert!(!all.contains("node=~"), "{all}");
        let many: Vec<String> = (0..=MAX_NAMED_NODES).map(|i| format!("n{i}")).collect();
        assert_eq!(nodes_first_ready_over(604_800, 15, 1.0, Some(&many)), all);
        assert_eq!(nodes_first_ready_over(604_800, 15, 1.0, Some(&[])), all);
    }

    #[test]
    fn the_range_pod_sums_subtract_the_pods_being_deleted() {
        let s = Settings::defaults();
        for q in [running_pods_over_range(&s), pending_pods_over_range(&s)] {
            assert!(
                q.promql
                    .contains("and on(namespace, pod) kube_pod_deletion_timestamp) or vector(0))"),
                "{}",
                q.promql
            );
        }
        assert_eq!(running_pods_over_range(&s).key, RUNNING_PODS);
        assert_eq!(pending_pods_over_range(&s).key, PENDING_PODS);
    }

    #[test]
    fn regex_metacharacters_in_names_are_literal() {
        let mut s = Settings::defaults();
        s.deployment = "game.v2".into();
        assert!(running_pods(&s).promql.contains(r#"pod=~"game\\.v2-["#));
    }

    #[test]
    fn every_query_and_rule_naming_the_hpa_names_the_one_the_scaledobject_gives() {
        let mut s = Settings::defaults();
        let default = r#"horizontalpodautoscaler="keda-hpa-spice-runner-keda""#;
        let named = |s: &Settings| {
            [
                ("hpa desired", hpa_desired(s).promql),
                ("hpa generation", hpa_generation(s).promql),
                ("KEDANotResponding", keda_not_responding_alert_expr(s)),
                ("PodSessionRatioAnomaly", pod_session_ratio_alert_expr(s)),
            ]
        };
        for (what, q) in named(&s) {
            assert!(q.contains(default), "{what}: {q}");
        }
        assert!(s.follow_hpa_name("spice-game-hpa"));
        for (what, q) in named(&s) {
            assert!(
                q.contains(r#"namespace="default", horizontalpodautoscaler="spice-game-hpa""#),
                "{what}: {q}"
            );
            assert!(!q.contains("keda-hpa-"), "{what}: {q}");
        }
        // diagnose's queries: only the alert queries name the HPA.
        let before = diagnose_queries(&Settings::defaults());
        let changed: Vec<&str> = diagnose_queries(&s)
            .iter()
            .zip(&before)
            .filter(|(a, b)| a.promql != b.promql)
            .map(|(a, _)| a.key)
            .collect();
        assert_eq!(
            changed,
            [
                ALERT_RATIO_NOW,
                ALERT_RATIO_FOR,
                ALERT_KEDA_NOW,
                ALERT_KEDA_FOR
            ]
        );
        assert_eq!(
            status_command_queries(&s),
            status_command_queries(&Settings::defaults())
        );
    }

    #[test]
    fn the_runbook_sessions_query_is_the_default() {
        assert_eq!(
            sessions(&Settings::defaults()).promql,
            r#"sum(rate(nginx_http_requests_total{service="spice-runner-nginx"}[1m]))"#
        );
    }
}
