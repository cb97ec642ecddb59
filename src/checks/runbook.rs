//! The runbook's own mistakes, for those who still follow it by hand
//! (`kubectl spice explain runbook`): each command or query of the runbook
//! the plugin does differently, why, and the command it runs instead. The
//! corrected text is built by the same functions the checks, the collect
//! step, `alerts` and `dashboard` use, so it cannot drift from them.

use super::keda::{events, operator_logs};
use super::prometheus::api_command;
use super::shell_arg;
use crate::domain::promql;
use crate::settings::Settings;

/// One flaw of the runbook.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Flaw {
    /// A stable short name: `explain runbook <slug>`.
    pub slug: &'static str,
    /// Where in the runbook.
    pub section: &'static str,
    /// The runbook's command or query, as it is written there.
    pub runbook: &'static str,
    /// What is wrong with it: the mechanism.
    pub wrong: &'static str,
    /// The corrected command or query (one or more), as the plugin runs it.
    pub corrected: Vec<String>,
    /// Where the plugin does it.
    pub plugin: &'static str,
}

/// The runbook's pod regex and phase query, as it writes them.
const RUNBOOK_RUNNING: &str =
    r#"count(kube_pod_status_phase{pod=~"spice-runner-.*", namespace="default", phase="Running"})"#;

/// Every flaw, in the runbook's order, with the corrected forms built from
/// `s` (the default settings name the runbook's objects).
pub fn flaws(s: &Settings) -> Vec<Flaw> {
    let ns = shell_arg(&s.namespace).into_owned();
    let selector = shell_arg(&s.selector).into_owned();
    let so = shell_arg(&s.scaled_object).into_owned();
    let hpa = shell_arg(&format!("keda-hpa-{}", s.scaled_object)).into_owned();
    let running = promql::running_pods(s).promql;
    vec![
        Flaw {
            slug: "printer-columns",
            section: "Quick Health Checks: 2. Check KEDA Status",
            runbook: "NAME  SCALETARGETKIND  SCALETARGETNAME  MIN  MAX  TRIGGERS  READY  ACTIVE",
            wrong: "No KEDA version prints these columns in this order: 2.16 and later print MIN MAX READY ACTIVE FALLBACK PAUSED TRIGGERS AUTHENTICATIONS AGE, 2.4 to 2.15 put TRIGGERS and AUTHENTICATION before READY. Reading the expected output by position reads the wrong column; the conditions themselves do not move.",
            corrected: vec![format!(
                "kubectl get scaledobject {so} -n {ns} -o jsonpath='{{range .status.conditions[*]}}{{.type}}={{.status}} {{.reason}}{{\"\\n\"}}{{end}}'"
            )],
            plugin: "keda.ready, keda.active, keda.fallback and keda.paused read .status.conditions by type",
        },
        Flaw {
            slug: "wc-header",
            section: "Quick Health Checks: 4. View Real-Time Scaling",
            runbook: "kubectl get pods -l app=spice-runner -n default | wc -l",
            wrong: "wc -l counts kubectl's header line too, so 3 pods read 4. It also counts pods that hold no session: Terminating ones (being deleted after a scale-down), Completed and Failed ones.",
            corrected: vec![format!(
                "kubectl get pods -l {selector} -n {ns} --field-selector=status.phase=Running --no-headers | grep -vc Terminating"
            )],
            plugin: "status and watch: the pods line counts Running, Pending and Terminating pods apart",
        },
        Flaw {
            slug: "idle-floor",
            section: "Prometheus Queries: Active Game Sessions",
            runbook: r#"sum(rate(nginx_http_requests_total{service="spice-runner-nginx"}[1m]))"#,
            wrong: "With no player it is not 0: every exporter scrape reads nginx's stub_status, which nginx counts as a request (1/scrape interval per nginx pod), and HTTP probes on nginx count too. That idle floor is not sessions; an activationThreshold below it keeps a pod forever.",
            corrected: vec![
                promql::sessions(s).promql,
                promql::nginx_samples_5m(s).promql,
            ],
            plugin: "status and diagnose: the second query measures the scrape spacing, the idle floor (series / spacing + probes) is subtracted before sessions are counted (sessions.traffic, keda.activation-threshold)",
        },
        Flaw {
            slug: "count-not-sum",
            section: "Prometheus Queries: Running Pods; Panel 1, Query B",
            runbook: RUNBOOK_RUNNING,
            wrong: "kube-state-metrics emits one 0/1 series per pod for each phase, so count() over phase=\"Running\" counts every pod, Pending and Failed ones included. sum() counts the Running ones.",
            corrected: vec![running.clone()],
            plugin: "status, watch and diagnose (sessions.ratio): the Running pods",
        },
        Flaw {
            slug: "pod-regex",
            section: "Prometheus Queries: Running Pods, Pod Pending Time, Alert Rules",
            runbook: r#"pod=~"spice-runner-.*""#,
            wrong: "The regex also matches the nginx pods (spice-runner-nginx-<hash>-<suffix>) and any other spice-runner-* workload's, so a healthy game looks overprovisioned. The Deployment's own pods are <deployment>-<pod-template-hash>-<5 chars>, both from Kubernetes' name alphabet.",
            corrected: vec![format!(
                "pod=~\"{}\"",
                promql::deployment_pod_regex(&s.deployment)
            )],
            plugin: "every pod query the plugin sends or ships (status, diagnose, report, alerts, dashboard)",
        },
        Flaw {
            slug: "terminating",
            section: "Prometheus Queries: Running Pods",
            runbook: RUNBOOK_RUNNING,
            wrong: "kube-state-metrics reports status.phase alone, and a pod being deleted stays Running until its containers stop: after a scale-down with a long grace period, draining pods still count as Running. Deletion shows in kube_pod_deletion_timestamp.",
            corrected: vec![running.clone()],
            plugin: "every pod count the plugin sends or ships ends in `unless on(namespace, pod) kube_pod_deletion_timestamp`",
        },
        Flaw {
            slug: "sessions-per-pod",
            section: "Prometheus Queries: Sessions Per Pod Ratio; Panels 2, 4",
            runbook: r#"sum(rate(nginx_http_requests_total{service="spice-runner-nginx"}[1m])) / count(kube_pod_status_phase{pod=~"spice-runner-.*", namespace="default", phase="Running"})"#,
            wrong: "Divides by every pod the regex matches (count, not sum; the nginx pods and draining pods included), so the ratio reads low on a healthy game.",
            corrected: vec![promql::sessions_per_pod_expr(s)],
            plugin: "sessions.ratio and the dashboard's sessions-per-pod panels",
        },
        Flaw {
            slug: "status-200",
            section: "Prometheus Queries: Heartbeat Event Rate",
            runbook: r#"sum(rate(nginx_http_requests_total{service="spice-runner-nginx", status="200"}[1m]))"#,
            wrong: "The nginx exporter reads stub_status, which has no per-status counts: the series has no status label and the query is always empty. Heartbeats are Faro events in Loki, not nginx requests.",
            corrected: vec![promql::sessions(s).promql, promql::heartbeat_rate_logql(s)],
            plugin: "prometheus.nginx-metric (the request rate) and the dashboard's heartbeat panel (LogQL)",
        },
        Flaw {
            slug: "pending-pods",
            section: "Prometheus Queries: Pod Pending Time",
            runbook: r#"sum(kube_pod_status_phase{pod=~"spice-runner-.*", phase="Pending"})"#,
            wrong: "No namespace: a staging copy of the game in another namespace adds its Pending pods, and the regex adds the nginx pods. It counts pods Pending now, not how long they wait.",
            corrected: vec![promql::pending_pods(s).promql],
            plugin: "status and watch (Pending pods); pods.pending says how long each waits, from the API server",
        },
        Flaw {
            slug: "events-grep",
            section: "Kubectl Monitoring Commands: View Scaling Events",
            runbook: "kubectl get events -n default --sort-by='.lastTimestamp' | grep -i scale",
            wrong: "grep -i scale matches every normal event of the ScaledObject and the HPA (SuccessfulRescale, ScaledObjectReady), so KEDAScalerFailed hides among them; events written through events.k8s.io may carry no lastTimestamp, so the sort misplaces them.",
            corrected: vec![events::command(&s.namespace, &s.scaled_object)],
            plugin: "keda.events: the ScaledObject's Warning events, newest first",
        },
        Flaw {
            slug: "faro-job",
            section: "Kubectl Monitoring Commands: Check Heartbeat Events in Loki",
            runbook: r#"{job="faro"} | logfmt | event_name="game_session_heartbeat""#,
            wrong: "Alloy's faro.receiver labels its streams with extra_log_labels only, no job by default: unless someone set job=\"faro\" there, the selector matches nothing. Ask Loki which labels exist, then set lokiQuery.",
            corrected: vec![
                api_command(&s.loki, "/loki/api/v1/labels", &[("since", "1h")]),
                promql::heartbeats_5m_logql(&s.loki_query),
            ],
            plugin: "loki.heartbeats: counts heartbeats with lokiQuery and, when none match, names the labels Loki has",
        },
        Flaw {
            slug: "alloy-grep",
            section: "Troubleshooting: No Pods Scaling Up, Check 1",
            runbook: "kubectl logs -l app=spice-runner -n default -c alloy | grep heartbeat",
            wrong: "Alloy's faro.receiver forwards events to Loki without logging them, so the grep finds nothing while heartbeats flow (and with -l kubectl shows only the last 10 lines of each pod). Count the heartbeats in Loki instead.",
            corrected: vec![api_command(
                &s.loki,
                "/loki/api/v1/query",
                &[("query", &promql::heartbeats_5m_logql(&s.loki_query))],
            )],
            plugin: "loki.heartbeats (heartbeats per session) and pods.sidecar (the alloy container in every pod)",
        },
        Flaw {
            slug: "querying-prometheus",
            section: "Troubleshooting: No Pods Scaling Up, Check 3",
            runbook: r#"kubectl logs -n keda -l app.kubernetes.io/name=keda-operator | grep "querying prometheus""#,
            wrong: "KEDA never logs \"querying prometheus\": successful queries are silent at info level. Failures log `error executing prometheus query` (prometheus_scaler) and `error getting scale decision` (scale_handler).",
            corrected: vec![operator_logs::log_grep(
                &s.keda_namespace,
                &s.keda_operator_selector,
                &s.scaled_object,
            )],
            plugin: "keda.operator-logs quotes the newest scaler errors about the ScaledObject",
        },
        Flaw {
            slug: "cooldown-grep",
            section: "Troubleshooting: Pods Not Scaling Down, Check 2",
            runbook: "kubectl describe scaledobject spice-runner-keda -n default | grep -i cooldown",
            wrong: "An unset cooldownPeriod prints nothing, and then it is KEDA's default 300 s, not 30 s. cooldownPeriod governs the last pod only (1→0); from N to M pods the HPA decides and keeps the highest count of its 300 s scale-down stabilization window.",
            corrected: vec![
                format!(
                    "kubectl get scaledobject {so} -n {ns} -o jsonpath='{{.spec.cooldownPeriod}} {{.spec.pollingInterval}}'"
                ),
                format!("kubectl get hpa {hpa} -n {ns} -o jsonpath='{{.spec.behavior.scaleDown}}'"),
            ],
            plugin: "keda.cooldown: time to zero and N→M shrink time, with the defaults filled in",
        },
        Flaw {
            slug: "zombie-status",
            section: "Troubleshooting: Pods Not Scaling Down, Check 3",
            runbook: r#"{job="faro"} | logfmt | event_name="game_session_heartbeat" | status="active""#,
            wrong: "Faro event attributes arrive after logfmt as event_data_<key>: the attribute is event_data_status, and status=\"active\" matches nothing.",
            corrected: vec![promql::active_sessions_by_id_logql(&s.loki_query)],
            plugin: "loki.zombies: sessions that heartbeat as active without traffic",
        },
        Flaw {
            slug: "ratio-alert",
            section: "Alert Rules: PodSessionRatioAnomaly",
            runbook: r#"abs(sum(rate(nginx_http_requests_total{service="spice-runner-nginx"}[5m])) / count(kube_pod_status_phase{pod=~"spice-runner-.*", namespace="default", phase="Running"}) - 1) > 0.5"#,
            wrong: "Compares sessions with every pod the regex matches (count, not sum; nginx and draining pods included). With every pod gone it divides by nothing and stays quiet while players wait, and a warm pool kept by minReplicaCount pages every idle night.",
            corrected: vec![promql::pod_session_ratio_alert_expr(s)],
            plugin: "alerts.pod-session-ratio evaluates it; `kubectl spice alerts` ships it",
        },
        Flaw {
            slug: "keda-not-responding",
            section: "Alert Rules: KEDANotResponding",
            runbook: r#"changes(kube_deployment_status_replicas{deployment="spice-runner"}[10m]) == 0 and rate(nginx_http_requests_total{service="spice-runner-nginx"}[5m]) > 5"#,
            wrong: "It means \"no replica change for 10 minutes while there is traffic\", which is steady load: every calm evening. As written, the bare `and` joins series with different labels, matches nothing and never fires at all. Stuck scaling is the HPA's desired count not reached.",
            corrected: vec![promql::keda_not_responding_alert_expr(s)],
            plugin: "alerts.keda-not-responding evaluates it; `kubectl spice alerts` ships it",
        },
        Flaw {
            slug: "no-service",
            section: "Key Metrics Summary: Sessions per Pod",
            runbook: r#"sum(rate(nginx_http_requests_total[1m])) / count(kube_pod_status_phase{pod=~"spice-runner-.*", phase="Running"})"#,
            wrong: "Without service= it adds the requests of every nginx Prometheus scrapes (ingress controllers, other apps); without a namespace and with count() it divides by every matching pod of any phase in any namespace.",
            corrected: vec![promql::sessions_per_pod_expr(s)],
            plugin: "sessions.ratio",
        },
        Flaw {
            slug: "success-rate",
            section: "Key Metrics Summary: Pod Success Rate",
            runbook: r#"count(kube_pod_status_phase{phase="Running"}) / count(kube_pod_status_phase)"#,
            wrong: "Always 0.2: kube-state-metrics emits a 0/1 series for each of the five phases of every pod, so the numerator counts pods and the denominator five times the pods. It also takes every pod of the cluster.",
            corrected: vec![promql::pod_success_rate_expr(s)],
            plugin: "pods.success-rate computes the same fraction from the API server's pods",
        },
        Flaw {
            slug: "heartbeat-rate",
            section: "Key Metrics Summary: Heartbeat Rate",
            runbook: r#"rate({job="faro"} |= "game_session_heartbeat"[1m])"#,
            wrong: "rate() without sum() gives one rate per stream (per pod and label set), not the game's; the line filter also counts any line that mentions the word; and {job=\"faro\"} matches nothing unless that label was set.",
            corrected: vec![promql::heartbeat_rate_logql(s)],
            plugin: "the dashboard's heartbeat panel; loki.heartbeats compares heartbeats with sessions",
        },
        Flaw {
            slug: "tolerance",
            section: "Quick Validation Checklist: pod count ≈ sessions (±20%)",
            runbook: "Pod count ≈ active session count (±20%)",
            wrong: "±20 % is no band the autoscalers have. The HPA changes replicas only when sessions per pod leave 1 ± its tolerance (10 % by default), so above 10 pods a new session can go without its pod by design, and below 10 pods every session gets one; KEDA alone decides 0↔1.",
            corrected: vec![format!(
                "kubectl get hpa {hpa} -n {ns} -o jsonpath='{{.status.currentReplicas}} {{.status.desiredReplicas}} {{.status.currentMetrics}}'"
            )],
            plugin: "status and sessions.ratio say \"within tolerance 0.1: no change until N sessions\" from the HPA's tolerance",
        },
    ]
}

/// The flaw `key` names: its 1-based number in the list, or its slug.
pub fn find(s: &Settings, key: &str) -> Option<(usize, Flaw)> {
    let all = flaws(s);
    if let Ok(n) = key.parse::<usize>() {
        return all
            .into_iter()
            .enumerate()
            .nth(n.checked_sub(1)?)
            .map(|(i, f)| (i + 1, f));
    }
    all.into_iter()
        .enumerate()
        .find(|(_, f)| f.slug == key)
        .map(|(i, f)| (i + 1, f))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flaw(slug: &str) -> Flaw {
        find(&Settings::defaults(), slug)
            .unwrap_or_else(|| panic!("no flaw {slug}"))
            .1
    }

    #[test]
    fn slugs_are_unique_and_numbers_find_the_same_entry() {
        let s = Settings::defaults();
        let all = flaws(&s);
        assert!(all.len() >= 15, "{}", all.len());
        let mut slugs: Vec<&str> = all.iter().map(|f| f.slug).collect();
        slugs.sort();
        slugs.dedup();
        assert_eq!(slugs.len(), all.len());
        for (i, f) in all.iter().enumerate() {
            assert_eq!(find(&s, &(i + 1).to_string()).map(|x| x.1), Some(f.clone()));
            assert!(!f.corrected.is_empty(), "{}", f.slug);
            assert_ne!(f.corrected, [f.runbook], "{}", f.slug);
        }
        assert_eq!(find(&s, "0"), None);
        assert_eq!(find(&s, &(all.len() + 1).to_string()), None);
    }

    #[test]
    fn each_corrected_query_is_the_one_the_plugin_sends() {
        let s = Settings::defaults();
        let status: Vec<String> = promql::status_command_queries(&s)
            .into_iter()
            .map(|q| q.promql)
            .collect();
        let diagnose: Vec<String> = promql::diagnose_queries(&s)
            .into_iter()
            .map(|q| q.promql)
            .collect();
        for slug in ["idle-floor", "count-not-sum", "terminating"] {
            for q in flaw(slug).corrected {
                assert!(status.contains(&q), "{slug}: {q} not sent by status");
                assert!(diagnose.contains(&q), "{slug}: {q} not sent by diagnose");
            }
        }
        assert!(status.contains(&flaw("pending-pods").corrected[0]));
        assert!(status.contains(&flaw("status-200").corrected[0]));
        // The alerts are evaluated by diagnose with the very expression shipped.
        for slug in ["ratio-alert", "keda-not-responding"] {
            let expr = &flaw(slug).corrected[0];
            assert!(diagnose.contains(expr), "{slug}");
        }
        let pod_regex = &flaw("pod-regex").corrected[0];
        for q in &status {
            if q.contains("kube_pod_status_phase{namespace") {
                assert!(q.contains(pod_regex.as_str()), "{q}");
            }
        }
    }

    #[test]
    fn each_corrected_logql_and_command_is_the_one_the_checks_use() {
        let s = Settings::defaults();
        assert_eq!(
            flaw("zombie-status").corrected,
            [promql::active_sessions_by_id_logql(&s.loki_query)]
        );
        assert!(
            promql::active_sessions_logql(&s.loki_query)
                .contains(&flaw("zombie-status").corrected[0])
        );
        assert!(flaw("zombie-status").corrected[0].contains("event_data_status=\"active\""));
        assert!(
            flaw("alloy-grep").corrected[0].contains("count_over_time"),
            "{:?}",
            flaw("alloy-grep").corrected
        );
        assert_eq!(
            flaw("querying-prometheus").corrected,
            [
                "kubectl logs -n keda -l app.kubernetes.io/name=keda-operator --tail=500 | grep -E 'prometheus_scaler|scale_handler|spice-runner-keda'"
            ]
        );
        assert_eq!(
            flaw("events-grep").corrected,
            [
                "kubectl get events -n default --field-selector involvedObject.name=spice-runner-keda"
            ]
        );
        assert_eq!(
            flaw("faro-job").corrected[0],
            "kubectl get --raw '/api/v1/namespaces/observability/services/loki:3100/proxy/loki/api/v1/labels?since=1h'"
        );
    }

    #[test]
    fn the_success_rate_takes_running_over_live_game_pods_not_a_fifth() {
        let q = &flaw("success-rate").corrected[0];
        assert!(q.starts_with("sum(kube_pod_status_phase{"), "{q}");
        assert!(q.contains("phase!=\"Succeeded\""), "{q}");
        assert!(!q.contains("count("), "{q}");
    }

    #[test]
    fn the_tolerance_said_is_the_models_and_every_check_named_exists() {
        use crate::domain::model::scaling::HPA_DEFAULT_TOLERANCE;
        let pct = format!("{} %", (HPA_DEFAULT_TOLERANCE * 100.0).round());
        assert!(flaw("tolerance").wrong.contains(&pct), "{pct}");
        let ids: Vec<&str> = crate::checks::registry()
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        for f in flaws(&Settings::defaults()) {
            for word in f
                .plugin
                .split(|c: char| !(c.is_ascii_lowercase() || c == '.' || c == '-'))
            {
                let word = word.trim_end_matches('.');
                if word.contains('.') && !word.starts_with('.') {
                    assert!(ids.contains(&word), "{}: no check {word}", f.slug);
                }
            }
        }
    }

    #[test]
    fn corrected_forms_follow_the_settings() {
        let mut s = Settings::defaults();
        s.namespace = "games".into();
        s.scaled_object = "runner-so".into();
        let all = flaws(&s);
        let tolerance = all
            .iter()
            .find(|f| f.slug == "tolerance")
            .expect("tolerance");
        assert!(tolerance.corrected[0].contains("keda-hpa-runner-so -n games"));
        let events = all
            .iter()
            .find(|f| f.slug == "events-grep")
            .expect("events");
        assert!(events.corrected[0].contains("-n games"));
    }
}
