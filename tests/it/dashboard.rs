//! `kubectl spice dashboard`: the JSON is a dashboard Grafana imports as is
//! (schema version, unique panel ids, grid positions, datasource variables),
//! it has the runbook's panels with its bands, and every PromQL expression in
//! it is accepted and answered correctly by a real Prometheus.

use crate::support::prom::{History, Prom};
use crate::support::spice::{BIN, run_bin};
use serde_json::Value;
use std::collections::BTreeSet;

fn dashboard(args: &[&str], env: &[(&str, &str)]) -> Value {
    let home = tempfile::tempdir().expect("tempdir");
    let mut all = vec!["dashboard"];
    all.extend_from_slice(args);
    let run = run_bin(BIN, &all, env, home.path());
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    run.json()
}

fn panels(d: &Value) -> &Vec<Value> {
    d["panels"].as_array().expect("panels is a list")
}

fn panel<'a>(d: &'a Value, kind: &str, title_part: &str) -> &'a Value {
    panels(d)
        .iter()
        .find(|p| p["type"] == kind && p["title"].as_str().unwrap_or("").contains(title_part))
        .unwrap_or_else(|| panic!("no {kind} panel titled *{title_part}*"))
}

/// Every target as (datasource type, expr).
fn targets(d: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for p in panels(d) {
        for t in p["targets"].as_array().expect("targets") {
            let ds = t["datasource"]["type"]
                .as_str()
                .or(p["datasource"]["type"].as_str())
                .expect("a datasource type");
            out.push((
                ds.to_string(),
                t["expr"].as_str().expect("expr").to_string(),
            ));
        }
    }
    out
}

#[test]
fn dashboard_is_importable_grafana_json() {
    let d = dashboard(&[], &[]);
    assert!(d["title"].as_str().is_some_and(|t| !t.is_empty()));
    let uid = d["uid"].as_str().expect("uid");
    assert!(
        !uid.is_empty()
            && uid.len() <= 40
            && uid
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "uid {uid:?}"
    );
    assert!(d["id"].is_null(), "an importable dashboard has no id");
    let schema = d["schemaVersion"].as_u64().expect("schemaVersion");
    assert!((36..=41).contains(&schema), "schemaVersion {schema}");

    // Datasource variables, and every panel and target uses one of them.
    let vars: Vec<&Value> = d["templating"]["list"]
        .as_array()
        .expect("templating.list")
        .iter()
        .collect();
    let var = |kind: &str| {
        vars.iter()
            .find(|v| v["type"] == "datasource" && v["query"] == kind)
            .unwrap_or_else(|| panic!("no {kind} datasource variable"))["name"]
            .as_str()
            .expect("name")
            .to_string()
    };
    let by_type = [
        ("prometheus", format!("${{{}}}", var("prometheus"))),
        ("loki", format!("${{{}}}", var("loki"))),
    ];
    let ds_ok = |ds: &Value| {
        by_type
            .iter()
            .any(|(t, uid)| ds["type"] == *t && ds["uid"] == uid.as_str())
    };

    let mut ids = BTreeSet::new();
    let mut cells = BTreeSet::new();
    for p in panels(&d) {
        let id = p["id"].as_u64().expect("panel id");
        assert!(ids.insert(id), "duplicate panel id {id}");
        let g = &p["gridPos"];
        let (x, y, w, h) = (
            g["x"].as_u64().expect("x"),
            g["y"].as_u64().expect("y"),
            g["w"].as_u64().expect("w"),
            g["h"].as_u64().expect("h"),
        );
        assert!(w > 0 && h > 0 && x + w <= 24, "panel {id} gridPos {g}");
        for cx in x..x + w {
            for cy in y..y + h {
                assert!(cells.insert((cx, cy)), "panel {id} overlaps another");
            }
        }
        assert!(
            ds_ok(&p["datasource"]),
            "panel {id} datasource {}",
            p["datasource"]
        );
        let refs: Vec<&str> = p["targets"]
            .as_array()
            .expect("targets")
            .iter()
            .map(|t| {
                assert!(ds_ok(&t["datasource"]), "panel {id} target datasource");
                t["refId"].as_str().expect("refId")
            })
            .collect();
        assert!(!refs.is_empty(), "panel {id} has no query");
        assert_eq!(
            refs.len(),
            refs.iter().collect::<BTreeSet<_>>().len(),
            "panel {id} has duplicate refIds"
        );
    }

    // The runbook's four panels, plus the heartbeats from Loki.
    let series = panel(&d, "timeseries", "sessions vs running pods");
    assert_eq!(series["targets"].as_array().unwrap().len(), 2);
    panel(&d, "gauge", "Scaling efficiency");
    panel(&d, "stat", "nodes");
    panel(&d, "stat", "per pod");
    let heartbeats = panel(&d, "timeseries", "Heartbeats");
    assert_eq!(heartbeats["datasource"]["type"], "loki");
}

#[test]
fn dashboard_gauge_has_the_runbooks_bands() {
    let d = dashboard(&[], &[]);
    let steps =
        &panel(&d, "gauge", "Scaling efficiency")["fieldConfig"]["defaults"]["thresholds"]["steps"];
    let got: Vec<(String, Option<f64>)> = steps
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["color"].as_str().unwrap().to_string(),
                s["value"].as_f64(),
            )
        })
        .collect();
    let want = [
        ("red", None),
        ("yellow", Some(0.5)),
        ("green", Some(0.8)),
        ("yellow", Some(1.2)),
        ("red", Some(1.5)),
    ];
    assert_eq!(
        got,
        want.iter()
            .map(|(c, v)| (c.to_string(), *v))
            .collect::<Vec<_>>()
    );

    // Bands set in the environment move the thresholds.
    let d = dashboard(&[], &[("SPICE_RATIO_GREEN_MIN", "0.9")]);
    let steps =
        &panel(&d, "gauge", "Scaling efficiency")["fieldConfig"]["defaults"]["thresholds"]["steps"];
    assert_eq!(steps[2]["value"].as_f64(), Some(0.9));
}

#[test]
fn dashboard_queries_follow_the_settings() {
    let d = dashboard(
        &[
            "-n",
            "games",
            "--deployment",
            "dungeon",
            "--nginx-service",
            "dungeon-nginx",
        ],
        &[(
            "SPICE_LOKI_QUERY",
            r#"{app="dungeon"} | logfmt | event_name="hb""#,
        )],
    );
    let all = targets(&d);
    let prom: Vec<&String> = all
        .iter()
        .filter(|(t, _)| t == "prometheus")
        .map(|(_, e)| e)
        .collect();
    assert!(
        prom.iter()
            .any(|e| e.contains(r#"service="dungeon-nginx""#))
    );
    assert!(prom.iter().any(|e| {
        e.contains(r#"namespace="games", pod=~"dungeon-[bcdfghjklmnpqrstvwxz2456789]{1,10}-"#)
    }));
    assert!(prom.iter().all(|e| !e.contains("spice-runner")), "{prom:?}");
    let loki: Vec<&String> = all
        .iter()
        .filter(|(t, _)| t == "loki")
        .map(|(_, e)| e)
        .collect();
    assert!(!loki.is_empty());
    for e in loki {
        assert!(
            e.contains(r#"{app="dungeon"} | logfmt | event_name="hb""#),
            "{e}"
        );
        assert_eq!(e.matches('(').count(), e.matches(')').count(), "{e}");
    }
}

/// Every PromQL expression runs on a real Prometheus holding 4 sessions,
/// 4 Running and 2 Pending game pods and 3 nodes: it parses (HTTP 200, not
/// 400 bad_data) and answers what the panel promises.
#[test]
fn dashboard_promql_runs_on_a_real_prometheus() {
    let mut h = History::new();
    h.counter(
        "nginx_http_requests_total",
        &[
            ("service", "spice-runner-nginx"),
            ("job", "spice-runner-nginx"),
        ],
        4.0,
    );
    for (name, phase) in [
        ("spice-runner-7d9f8-k2x9m", "Running"),
        ("spice-runner-7d9f8-p4rtw", "Running"),
        ("spice-runner-7d9f8-z7hqv", "Running"),
        ("spice-runner-7d9f8-n5bdl", "Running"),
        ("spice-runner-7d9f8-w8fgs", "Pending"),
        ("spice-runner-7d9f8-t6cjx", "Pending"),
    ] {
        for p in ["Pending", "Running", "Succeeded", "Failed", "Unknown"] {
            h.gauge(
                "kube_pod_status_phase",
                &[
                    ("namespace", "default"),
                    ("pod", name),
                    ("uid", name),
                    ("phase", p),
                ],
                if p == phase { 1.0 } else { 0.0 },
            );
        }
    }
    for node in ["node-a", "node-b", "node-c"] {
        h.gauge("kube_node_info", &[("node", node)], 1.0);
    }
    let prom = Prom::start(&h);

    let d = dashboard(&[], &[]);
    let exprs: Vec<String> = targets(&d)
        .into_iter()
        .filter(|(t, _)| t == "prometheus")
        .map(|(_, e)| e)
        .collect();
    assert!(exprs.len() >= 5, "{exprs:?}");
    for e in &exprs {
        let (code, v) = prom.query_status(e);
        assert_eq!(code, 200, "Prometheus rejected {e}: {v}");
        assert_eq!(v["status"], "success", "{e}: {v}");
    }

    let value = |p: &Value, i: usize| {
        let e = p["targets"][i]["expr"].as_str().expect("expr");
        prom.value(e)
            .unwrap_or_else(|| panic!("{e} answered no sample"))
    };
    let close = |a: f64, b: f64| (a - b).abs() < 0.01;
    let series = panel(&d, "timeseries", "sessions vs running pods");
    assert!(close(value(series, 0), 4.0), "sessions");
    assert!(
        close(value(series, 1), 4.0),
        "running pods (sum, not count: 6)"
    );
    let gauge = panel(&d, "gauge", "Scaling efficiency");
    assert!(close(value(gauge, 0), 1.0), "sessions per pod");
    assert!(close(value(panel(&d, "stat", "nodes"), 0), 3.0), "nodes");
    assert!(
        close(value(panel(&d, "stat", "per pod"), 0), 1.0),
        "req/s per pod"
    );
}

/// The grafanaService setting is used: the dashboard says where to import
/// it, on stderr (stdout stays the JSON alone).
#[test]
fn dashboard_says_where_to_import_it_from_the_grafana_service_setting() {
    let home = tempfile::tempdir().expect("tempdir");
    let run = run_bin(
        BIN,
        &["dashboard"],
        &[("SPICE_GRAFANA_SERVICE", "monitoring/grafana-ui:80")],
        home.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let _ = run.json();
    assert!(
        run.stderr.contains(
            "import it into Grafana (monitoring/grafana-ui:80): kubectl port-forward -n monitoring svc/grafana-ui 80:80"
        ),
        "{}",
        run.stderr
    );
}
