//! The runbook's Grafana dashboard as code: its four panels (sessions vs pods,
//! scaling efficiency, cluster nodes, requests per pod) with the corrected
//! queries from `cluster::promql`, plus a Loki heartbeat panel. Datasources are
//! dashboard variables, so the JSON imports as is into any Grafana.

use crate::domain::promql;
use crate::settings::Settings;
use serde_json::{Value, json};

/// Grafana's dashboard schema version this JSON is written for (Grafana 11;
/// newer Grafana migrates it on load).
pub const SCHEMA_VERSION: u64 = 39;

/// The variable names the panels' datasources refer to.
pub const PROMETHEUS_VAR: &str = "datasource";
pub const LOKI_VAR: &str = "loki";

fn prometheus() -> Value {
    json!({ "type": "prometheus", "uid": format!("${{{PROMETHEUS_VAR}}}") })
}

fn loki() -> Value {
    json!({ "type": "loki", "uid": format!("${{{LOKI_VAR}}}") })
}

fn target(datasource: &Value, ref_id: &str, expr: String, legend: &str) -> Value {
    json!({
        "datasource": datasource,
        "refId": ref_id,
        "expr": expr,
        "legendFormat": legend,
        "range": true,
        "instant": false,
    })
}

fn grid(x: u32, y: u32, w: u32, h: u32) -> Value {
    json!({ "x": x, "y": y, "w": w, "h": h })
}

fn datasource_variable(name: &str, label: &str, kind: &str) -> Value {
    json!({
        "name": name,
        "label": label,
        "type": "datasource",
        "query": kind,
        "current": {},
        "hide": 0,
        "includeAll": false,
        "multi": false,
        "options": [],
        "refresh": 1,
        "regex": "",
        "skipUrlSync": false,
    })
}

/// `reduceOptions` showing the newest value.
fn last_value() -> Value {
    json!({ "calcs": ["lastNotNull"], "fields": "", "values": false })
}

/// The dashboard's `uid`: Grafana allows 40 characters of `[A-Za-z0-9_-]`.
fn uid(s: &Settings) -> String {
    let raw = format!("spice-{}-{}", s.namespace, s.deployment);
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(40)
        .collect()
}

/// The gauge's upper end: room above the yellow band, at least 2.
fn gauge_max(s: &Settings) -> f64 {
    let top = (s.bands.yellow_max * 4.0 / 3.0 * 10.0).ceil() / 10.0;
    top.max(2.0)
}

/// The dashboard JSON for the settings' names and bands.
pub fn dashboard(s: &Settings) -> Value {
    let prom = prometheus();
    let lokids = loki();
    let b = &s.bands;
    let per_session = crate::report::num(s.targets.heartbeat_per_session);
    let panels = vec![
        json!({
            "id": 1,
            "type": "timeseries",
            "title": "Active sessions vs running pods",
            "description": "Sessions (nginx requests per second; each session sends about 1 req/s) and Running game pods. The lines should track each other: one pod per session. Running pods are sum(kube_pod_status_phase{phase=\"Running\"}): count(...) would count pods of every phase.",
            "datasource": prom,
            "gridPos": grid(0, 0, 12, 8),
            "targets": [
                target(&prom, "A", promql::sessions(s).promql, "active sessions"),
                target(&prom, "B", promql::running_pods(s).promql, "running pods"),
            ],
            "fieldConfig": {
                "defaults": {
                    "unit": "short",
                    "min": 0,
                    "custom": { "drawStyle": "line", "lineWidth": 2, "fillOpacity": 10, "showPoints": "never" },
                },
                "overrides": [],
            },
            "options": {
                "legend": { "displayMode": "list", "placement": "bottom", "showLegend": true },
                "tooltip": { "mode": "multi", "sort": "none" },
            },
        }),
        json!({
            "id": 2,
            "type": "gauge",
            "title": "Scaling efficiency (sessions per pod)",
            "description": format!(
                "Active sessions per Running pod; 1.0 is perfect 1:1 scaling. Green {}–{}, yellow {}–{} and {}–{}, red beyond.",
                crate::report::num(b.green_min), crate::report::num(b.green_max),
                crate::report::num(b.yellow_min), crate::report::num(b.green_min),
                crate::report::num(b.green_max), crate::report::num(b.yellow_max),
            ),
            "datasource": prom,
            "gridPos": grid(12, 0, 6, 8),
            "targets": [target(&prom, "A", promql::sessions_per_pod_expr(s), "sessions per pod")],
            "fieldConfig": {
                "defaults": {
                    "unit": "none",
                    "decimals": 2,
                    "min": 0,
                    "max": gauge_max(s),
                    "thresholds": {
                        "mode": "absolute",
                        "steps": [
                            { "color": "red", "value": null },
                            { "color": "yellow", "value": b.yellow_min },
                            { "color": "green", "value": b.green_min },
                            { "color": "yellow", "value": b.green_max },
                            { "color": "red", "value": b.yellow_max },
                        ],
                    },
                },
                "overrides": [],
            },
            "options": {
                "reduceOptions": last_value(),
                "showThresholdLabels": false,
                "showThresholdMarkers": true,
            },
        }),
        json!({
            "id": 3,
            "type": "stat",
            "title": "Cluster nodes",
            "description": "Nodes in the cluster (kube-state-metrics' kube_node_info). It should grow as pods scale up and shrink when they scale down.",
            "datasource": prom,
            "gridPos": grid(18, 0, 6, 4),
            "targets": [target(&prom, "A", promql::nodes().promql, "nodes")],
            "fieldConfig": {
                "defaults": {
                    "unit": "short",
                    "decimals": 0,
                    "thresholds": { "mode": "absolute", "steps": [{ "color": "blue", "value": null }] },
                },
                "overrides": [],
            },
            "options": {
                "reduceOptions": last_value(),
                "colorMode": "value",
                "graphMode": "area",
                "justifyMode": "auto",
                "textMode": "auto",
            },
        }),
        json!({
            "id": 4,
            "type": "stat",
            "title": "Requests per pod",
            "description": "nginx requests per second per Running pod; about 1 req/s when each pod serves one session.",
            "datasource": prom,
            "gridPos": grid(18, 4, 6, 4),
            "targets": [target(&prom, "A", promql::sessions_per_pod_expr(s), "req/s per pod")],
            "fieldConfig": {
                "defaults": {
                    "unit": "reqps",
                    "decimals": 2,
                    "thresholds": { "mode": "absolute", "steps": [{ "color": "blue", "value": null }] },
                },
                "overrides": [],
            },
            "options": {
                "reduceOptions": last_value(),
                "colorMode": "value",
                "graphMode": "area",
                "justifyMode": "auto",
                "textMode": "auto",
            },
        }),
        json!({
            "id": 5,
            "type": "timeseries",
            "title": "Heartbeats (Loki)",
            "description": format!(
                "Game-session heartbeat events per second from Loki, and the sessions they imply at {per_session} heartbeats per second per session. Compare with the active sessions above."
            ),
            "datasource": lokids,
            "gridPos": grid(0, 8, 24, 8),
            "targets": [
                target(&lokids, "A", promql::heartbeat_rate_logql(s), "heartbeats/s"),
                target(&lokids, "B", promql::heartbeat_sessions_logql(s), "sessions (from heartbeats)"),
            ],
            "fieldConfig": {
                "defaults": {
                    "unit": "short",
                    "min": 0,
                    "custom": { "drawStyle": "line", "lineWidth": 2, "fillOpacity": 10, "showPoints": "never" },
                },
                "overrides": [],
            },
            "options": {
                "legend": { "displayMode": "list", "placement": "bottom", "showLegend": true },
                "tooltip": { "mode": "multi", "sort": "none" },
            },
        }),
    ];
    json!({
        "id": null,
        "uid": uid(s),
        "title": format!("{}: pod per session ({})", s.deployment, s.namespace),
        "description": format!(
            "Pod-per-session scaling of {}/{}, generated by kubectl spice {}.",
            s.namespace, s.deployment, env!("CARGO_PKG_VERSION")
        ),
        "tags": ["spice-runner", "keda", "pod-per-session", "kubectl-spice"],
        "timezone": "browser",
        "editable": true,
        "graphTooltip": 1,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": "30s",
        "time": { "from": "now-1h", "to": "now" },
        "timepicker": {},
        "annotations": { "list": [] },
        "links": [],
        "templating": {
            "list": [
                datasource_variable(PROMETHEUS_VAR, "Prometheus", "prometheus"),
                datasource_variable(LOKI_VAR, "Loki", "loki"),
            ]
        },
        "panels": panels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_is_grafana_safe() {
        let mut s = Settings::defaults();
        s.deployment = "a.very-long-deployment-name-that-goes-on-and-on".into();
        let u = uid(&s);
        assert!(u.len() <= 40, "{u}");
        assert!(
            u.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }

    #[test]
    fn gauge_leaves_room_above_the_bands() {
        let mut s = Settings::defaults();
        assert_eq!(gauge_max(&s), 2.0);
        s.bands.yellow_max = 3.0;
        assert_eq!(gauge_max(&s), 4.0);
    }
}
