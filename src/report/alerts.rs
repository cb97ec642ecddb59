//! The runbook's alert rules as code, corrected and built from the settings:
//! a plain Prometheus rule file, or the same groups in a Prometheus Operator
//! `PrometheusRule`. The expressions come from `cluster::promql`.

use crate::domain::{promql, recording};
use crate::settings::{Endpoint, Settings};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;

/// A rule that fires is held this long before it pages (beyond the
/// expression's own 5-minute window), for CrashLoopBackOff.
const CRASHLOOP_FOR_SECONDS: f64 = 60.0;

#[derive(Debug, Clone, Serialize)]
pub struct RuleFile {
    pub groups: Vec<Group>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub name: String,
    /// Set on the recording group only: the alert group keeps Prometheus's
    /// global `evaluation_interval`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    pub rules: Vec<Rule>,
}

/// An alerting rule, or a recording rule (`record` set; no `alert`, `for`
/// or annotations).
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub alert: String,
    pub expr: String,
    #[serde(rename = "for", skip_serializing_if = "String::is_empty")]
    pub for_: String,
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PrometheusRule<'a> {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
    spec: &'a RuleFile,
}

#[derive(Serialize)]
struct Metadata {
    name: String,
    namespace: String,
    labels: BTreeMap<String, String>,
}

/// A Prometheus duration (`30s`, `5m`, `1h`, `1500ms`) for `for:`.
pub fn prometheus_duration(seconds: f64) -> String {
    let ms = (seconds.max(0.0) * 1000.0).round() as u64;
    if !ms.is_multiple_of(1000) {
        return format!("{ms}ms");
    }
    let s = ms / 1000;
    if s != 0 && s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s != 0 && s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The four rules, in one group named after the Deployment.
pub fn rule_file(s: &Settings) -> RuleFile {
    let ns = s.namespace.as_str();
    let dep = s.deployment.as_str();
    let bands = &s.bands;
    let scale_up = prometheus_duration(s.targets.scale_up_seconds);
    let diagnose = format!("Run `kubectl spice diagnose -n {ns}`.");
    let rules = vec![
        Rule {
            record: None,
            alert: "PodSessionRatioAnomaly".into(),
            expr: promql::pod_session_ratio_alert_expr(s),
            for_: "5m".into(),
            labels: map(&[
                ("severity", "warning"),
                ("namespace", ns),
                ("deployment", dep),
            ]),
            annotations: map(&[
                ("summary", "Pod-to-session ratio is off target"),
                (
                    "description",
                    &format!(
                        "Expected about 1 active session per running {dep} pod (alert below {} or above {}), currently {{{{ $value | printf \"%.2f\" }}}}. {diagnose}",
                        crate::report::num(bands.yellow_min),
                        crate::report::num(bands.yellow_max),
                    ),
                ),
            ]),
        },
        Rule {
            record: None,
            alert: "KEDANotResponding".into(),
            expr: promql::keda_not_responding_alert_expr(s),
            for_: prometheus_duration(promql::KEDA_ALERT_FOR_SECS),
            labels: map(&[
                ("severity", "critical"),
                ("namespace", ns),
                ("deployment", dep),
            ]),
            annotations: map(&[
                ("summary", "KEDA's HPA does not reach the replicas it wants"),
                (
                    "description",
                    &format!(
                        "HPA {{{{ $labels.namespace }}}}/{{{{ $labels.horizontalpodautoscaler }}}} wants {{{{ $value | printf \"%.0f\" }}}} replicas of Deployment {ns}/{dep} but has had a different count for 10 minutes: scaling is stuck. Run `kubectl spice diagnose -n {ns} --symptom no-scale-up`."
                    ),
                ),
            ]),
        },
        Rule {
            record: None,
            alert: "SpiceRunnerPodPending".into(),
            expr: promql::pod_pending_alert_expr(s),
            for_: scale_up.clone(),
            labels: map(&[("severity", "warning"), ("deployment", dep)]),
            annotations: map(&[
                (
                    "summary",
                    "A game pod is Pending longer than the scale-up target",
                ),
                (
                    "description",
                    &format!(
                        "Pod {{{{ $labels.namespace }}}}/{{{{ $labels.pod }}}} has been Pending for more than {scale_up}, the scale-up target: no node has room for it (is Karpenter adding nodes?). {diagnose}"
                    ),
                ),
            ]),
        },
        Rule {
            record: None,
            alert: "SpiceRunnerPodCrashLooping".into(),
            expr: promql::pod_crashloop_alert_expr(s),
            for_: prometheus_duration(CRASHLOOP_FOR_SECONDS),
            labels: map(&[("severity", "warning"), ("deployment", dep)]),
            annotations: map(&[
                ("summary", "A game pod is in CrashLoopBackOff"),
                (
                    "description",
                    &format!(
                        "Container {{{{ $labels.container }}}} of pod {{{{ $labels.namespace }}}}/{{{{ $labels.pod }}}} is in CrashLoopBackOff: its player cannot play. {diagnose}"
                    ),
                ),
            ]),
        },
    ];
    RuleFile {
        groups: vec![
            Group {
                name: format!("{dep}.pod-per-session"),
                interval: None,
                rules,
            },
            recording_group(s),
        ],
    }
}

/// The recording rules `report` and `timeline` read instead of summing
/// every pod series over days (`domain::recording`), evaluated every 15 s,
/// the report's step.
fn recording_group(s: &Settings) -> Group {
    let rules = recording::recordings(s)
        .into_iter()
        .map(|r| Rule {
            record: Some(r.record.to_string()),
            alert: String::new(),
            expr: r.expr,
            for_: String::new(),
            labels: r
                .labels
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            annotations: BTreeMap::new(),
        })
        .collect();
    Group {
        name: format!("{}.{}", s.deployment, recording::GROUP_SUFFIX),
        interval: Some(prometheus_duration(recording::INTERVAL_SECS)),
        rules,
    }
}

/// The header line saying which HPA KEDANotResponding and
/// PodSessionRatioAnomaly read, and where its name came from: the cluster's
/// ScaledObject, or KEDA's default because `unread` says why it could not be
/// read (fixed words, never the cluster's text).
pub fn hpa_note(s: &Settings, unread: Option<&str>) -> String {
    let hpa = s.keda_hpa_name();
    let so = format!("ScaledObject {}/{}", s.namespace, s.scaled_object);
    match unread {
        None if s.hpa_name.is_some() => {
            format!(
                "KEDANotResponding and PodSessionRatioAnomaly read HPA {hpa}, as {so} names it."
            )
        }
        None => format!(
            "KEDANotResponding and PodSessionRatioAnomaly read HPA {hpa}, KEDA's name for {so}, which names no other."
        ),
        Some(why) => format!(
            "KEDANotResponding and PodSessionRatioAnomaly read HPA {hpa}, KEDA's default name for {so}\n\
             ({why}): if it sets spec.advanced.horizontalPodAutoscalerConfig.name, run this\n\
             where the cluster can be read, or put that name in horizontalpodautoscaler=\"...\"."
        ),
    }
}

/// The comment the output starts with: where the rules came from.
fn header(s: &Settings, hpa_note: &str, format_note: &str) -> String {
    let mut h = String::new();
    let lines = [
        format!(
            "Alert rules for {}/{}'s pod-per-session scaling, generated by kubectl spice {}",
            s.namespace,
            s.deployment,
            env!("CARGO_PKG_VERSION")
        ),
        format!(
            "from its settings: nginx service {:?}, sessions-per-pod alert outside {}–{}, scale-up target {}.",
            s.nginx_service,
            crate::report::num(s.bands.yellow_min),
            crate::report::num(s.bands.yellow_max),
            prometheus_duration(s.targets.scale_up_seconds)
        ),
        "Corrected from the runbook: running pods are sum(kube_pod_status_phase{...}), not".into(),
        "count(...), which counts pods of every phase; KEDANotResponding joins its two sides"
            .into(),
        "with `and on()`, without which it can never fire.".into(),
        hpa_note.to_string(),
        format!(
            "The second group records the running and pending game pods every {} for",
            prometheus_duration(recording::INTERVAL_SECS)
        ),
        "`kubectl spice report` and `timeline`, which read them instead of every pod series."
            .into(),
        format_note.to_string(),
    ];
    for line in lines.iter().filter(|l| !l.is_empty()) {
        for part in line.lines() {
            h.push_str("# ");
            h.push_str(part);
            h.push('\n');
        }
    }
    h
}

/// Writes a plain Prometheus rule file (`rule_files:` in prometheus.yml).
/// `hpa_note` ([`hpa_note`]) says which HPA the rules read.
pub fn write_rules(out: &mut dyn Write, s: &Settings, hpa_note: &str) -> std::io::Result<()> {
    let file = rule_file(s);
    out.write_all(header(s, hpa_note, "Check with `promtool check rules FILE`.").as_bytes())?;
    let text = serde_norway::to_string(&file).map_err(std::io::Error::other)?;
    out.write_all(text.as_bytes())
}

/// Writes the recording group alone as a plain rule file, for `promtool
/// tsdb create-blocks-from rules` (Prometheus 2.42's promtool also writes
/// each alerting rule's expression as a series named after the alert).
pub fn write_recording_rules(out: &mut dyn Write, s: &Settings) -> std::io::Result<()> {
    let file = RuleFile {
        groups: vec![recording_group(s)],
    };
    let h = format!(
        "# Recording rules for {}/{}'s `kubectl spice report` and `timeline`, generated by kubectl spice {}.\n\
         # Backfill the past: promtool tsdb create-blocks-from rules --start TIME --end TIME --url PROMETHEUS_URL FILE\n",
        s.namespace,
        s.deployment,
        env!("CARGO_PKG_VERSION")
    );
    out.write_all(h.as_bytes())?;
    let text = serde_norway::to_string(&file).map_err(std::io::Error::other)?;
    out.write_all(text.as_bytes())
}

/// The namespace a `PrometheusRule` goes in: the Prometheus Operator only
/// reads rules from the Prometheus's own namespace unless its
/// `ruleNamespaceSelector` says otherwise, so the Prometheus service's
/// namespace when the settings name one, else the game's.
fn rule_namespace(s: &Settings) -> String {
    match &s.prometheus {
        Endpoint::Service(svc) => svc.namespace.clone(),
        Endpoint::Url(_) => s.namespace.clone(),
    }
}

/// Writes a `monitoring.coreos.com/v1` PrometheusRule holding the same groups.
pub fn write_prometheus_rule(
    out: &mut dyn Write,
    s: &Settings,
    hpa_note: &str,
    extra_labels: &BTreeMap<String, String>,
) -> std::io::Result<()> {
    let file = rule_file(s);
    let mut labels = map(&[
        ("app.kubernetes.io/name", s.deployment.as_str()),
        ("app.kubernetes.io/component", "alerting-rules"),
    ]);
    labels.extend(extra_labels.clone());
    let rule = PrometheusRule {
        api_version: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: Metadata {
            name: format!("{}-pod-per-session", s.deployment),
            namespace: rule_namespace(s),
            labels,
        },
        spec: &file,
    };
    let note = "The Prometheus Operator loads it only if its labels match the Prometheus's\n\
                ruleSelector (kube-prometheus-stack: `release: <helm release>`; add it with\n\
                --rule-label). Apply with `kubectl apply -f -`.";
    out.write_all(header(s, hpa_note, note).as_bytes())?;
    let text = serde_norway::to_string(&rule).map_err(std::io::Error::other)?;
    out.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_prometheus() {
        assert_eq!(prometheus_duration(30.0), "30s");
        assert_eq!(prometheus_duration(60.0), "1m");
        assert_eq!(prometheus_duration(90.0), "90s");
        assert_eq!(prometheus_duration(7200.0), "2h");
        assert_eq!(prometheus_duration(1.5), "1500ms");
        assert_eq!(prometheus_duration(0.0), "0s");
    }

    #[test]
    fn rules_use_sum_and_and_on() {
        let file = rule_file(&Settings::defaults());
        let rules = &file.groups[0].rules;
        let names: Vec<&str> = rules.iter().map(|r| r.alert.as_str()).collect();
        assert_eq!(
            names,
            [
                "PodSessionRatioAnomaly",
                "KEDANotResponding",
                "SpiceRunnerPodPending",
                "SpiceRunnerPodCrashLooping"
            ]
        );
        assert!(!rules[0].expr.contains("count("), "{}", rules[0].expr);
        assert!(rules[0].expr.contains("sum(kube_pod_status_phase{"));
        assert!(
            rules[1]
                .expr
                .contains("kube_horizontalpodautoscaler_status_desired_replicas"),
            "{}",
            rules[1].expr
        );
        assert_eq!(rules[2].for_, "30s");
    }

    /// One source of truth: the alert checks evaluate the very expressions
    /// shipped here, over the rules' own `for:` windows.
    #[test]
    fn the_alert_checks_evaluate_exactly_the_shipped_expressions() {
        let s = Settings::defaults();
        let file = rule_file(&s);
        let rule = |name: &str| {
            file.groups[0]
                .rules
                .iter()
                .find(|r| r.alert == name)
                .unwrap_or_else(|| panic!("no rule {name}"))
        };
        let queries = promql::alert_queries(&s);
        let query = |key: &str| {
            queries
                .iter()
                .find(|q| q.key == key)
                .map(|q| q.promql.clone())
                .unwrap_or_else(|| panic!("no query {key}"))
        };
        for (alert, now, held, for_secs) in [
            (
                "PodSessionRatioAnomaly",
                promql::ALERT_RATIO_NOW,
                promql::ALERT_RATIO_FOR,
                promql::RATIO_ALERT_FOR_SECS,
            ),
            (
                "KEDANotResponding",
                promql::ALERT_KEDA_NOW,
                promql::ALERT_KEDA_FOR,
                promql::KEDA_ALERT_FOR_SECS,
            ),
        ] {
            let r = rule(alert);
            assert_eq!(query(now), r.expr, "{alert}");
            assert!(
                query(held).starts_with(&format!("count_over_time(({})[", r.expr)),
                "{alert}: {}",
                query(held)
            );
            assert!(
                query(held).contains(&format!("[{}s:", for_secs as i64)),
                "{alert}"
            );
            assert_eq!(r.for_, prometheus_duration(for_secs), "{alert}");
        }
    }

    /// The ScaledObject names its HPA: both rules that read the HPA name it,
    /// and the header says so; unread, KEDA's default and why, in comments.
    #[test]
    fn the_rules_name_the_hpa_the_scaledobject_names_or_say_they_could_not() {
        let mut s = Settings::defaults();
        assert!(s.follow_hpa_name("spice-game-hpa"));
        let mut out = Vec::new();
        write_rules(&mut out, &s, &hpa_note(&s, None)).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("# KEDANotResponding and PodSessionRatioAnomaly read HPA spice-game-hpa, as ScaledObject default/spice-runner-keda names it.\n"),
            "{text}"
        );
        let file = rule_file(&s);
        for alert in ["PodSessionRatioAnomaly", "KEDANotResponding"] {
            let r = file.groups[0]
                .rules
                .iter()
                .find(|r| r.alert == alert)
                .unwrap();
            assert!(
                r.expr
                    .contains(r#"horizontalpodautoscaler="spice-game-hpa""#),
                "{alert}: {}",
                r.expr
            );
        }
        assert!(!text.contains("keda-hpa-"), "{text}");

        let d = Settings::defaults();
        let mut out = Vec::new();
        write_prometheus_rule(
            &mut out,
            &d,
            &hpa_note(&d, Some("no kube context")),
            &BTreeMap::new(),
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("read HPA keda-hpa-spice-runner-keda, KEDA's default name for ScaledObject default/spice-runner-keda\n# (no kube context): if it sets spec.advanced.horizontalPodAutoscalerConfig.name"),
            "{text}"
        );
        // Every line of the note is a comment: the YAML is the same.
        let v: serde_json::Value = serde_norway::from_str(&text).unwrap();
        assert_eq!(v["kind"], "PrometheusRule");
        assert!(
            hpa_note(&d, None).ends_with(
                "KEDA's name for ScaledObject default/spice-runner-keda, which names no other."
            ),
            "{}",
            hpa_note(&d, None)
        );
    }

    #[test]
    fn the_recording_group_records_the_report_sums_every_fifteen_seconds() {
        let s = Settings::defaults();
        let file = rule_file(&s);
        assert_eq!(file.groups.len(), 2);
        let g = &file.groups[1];
        assert_eq!(g.name, "spice-runner.spice.recording");
        assert_eq!(g.interval.as_deref(), Some("15s"));
        let wanted = recording::recordings(&s);
        assert_eq!(g.rules.len(), 2);
        for (rule, r) in g.rules.iter().zip(&wanted) {
            assert_eq!(rule.record.as_deref(), Some(r.record));
            assert_eq!(rule.expr, r.expr);
            assert_eq!(rule.labels["spice_expr"], recording::digest(&r.expr));
            assert_eq!(rule.labels["namespace"], s.namespace);
        }
        let text = serde_norway::to_string(&file).unwrap();
        assert!(
            text.contains("- record: spice:game_pods_running:sum\n"),
            "{text}"
        );
        assert!(!text.contains("alert: ''"), "{text}");
        assert!(!text.contains("for: ''"), "{text}");
    }

    #[test]
    fn the_recording_rules_alone_hold_no_alert() {
        let mut out = Vec::new();
        write_recording_rules(&mut out, &Settings::defaults()).unwrap();
        let text = String::from_utf8(out).unwrap();
        let v: serde_json::Value = serde_norway::from_str(&text).unwrap();
        assert_eq!(v["groups"].as_array().map(Vec::len), Some(1));
        assert_eq!(v["groups"][0]["interval"], "15s");
        assert!(!text.contains("alert:"), "{text}");
        assert_eq!(
            v["groups"][0]["rules"][1]["record"],
            "spice:game_pods_pending:sum"
        );
    }

    #[test]
    fn prometheus_rule_goes_to_the_prometheus_namespace() {
        let mut out = Vec::new();
        write_prometheus_rule(&mut out, &Settings::defaults(), "", &BTreeMap::new()).unwrap();
        let text = String::from_utf8(out).unwrap();
        let v: serde_json::Value = serde_norway::from_str(&text).unwrap();
        assert_eq!(v["kind"], "PrometheusRule");
        assert_eq!(v["metadata"]["namespace"], "observability");
        assert_eq!(v["metadata"]["name"], "spice-runner-pod-per-session");
    }
}
