//! The cluster simulator against the real `kubectl`, kube-rs and raw HTTPS
//! requests: the proof that it speaks the protocol.

use crate::support::scenario::{Forbidden, Scenario, ScenarioMeta};
use crate::support::sim::{Fault, Sim, resolve_times, rfc3339};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, UNIX_EPOCH};

// ---------------------------------------------------------------- fixtures

fn pod(name: &str, app: &str, phase: &str, containers: &[&str], created: &str) -> Value {
    let containers: Vec<Value> = containers
        .iter()
        .map(|c| json!({"name": c, "image": format!("example.invalid/{c}:1")}))
        .collect();
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": app}, "creationTimestamp": created},
        "spec": {"nodeName": "node-1", "containers": containers},
        "status": {"phase": phase},
    })
}

fn objects() -> Vec<Value> {
    vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "observability"}}),
        pod(
            "spice-runner-a",
            "spice-runner",
            "Running",
            &["runner", "alloy"],
            "$NOW-300s",
        ),
        pod(
            "spice-runner-b",
            "spice-runner",
            "Pending",
            &["runner"],
            "$NOW-120s",
        ),
        pod("other", "other", "Running", &["main"], "$NOW-1h"),
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"},
               "status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
        json!({"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
               "metadata": {"name": "spice-runner", "namespace": "default"},
               "spec": {"scaleTargetRef": {"name": "spice-runner"}, "minReplicaCount": 1, "maxReplicaCount": 10}}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "prometheus", "namespace": "observability"},
               "spec": {"ports": [{"name": "web", "port": 9090, "targetPort": 9090}]}}),
        json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "spice-runner-b.1", "namespace": "default"},
               "involvedObject": {"kind": "Pod", "name": "spice-runner-b", "namespace": "default"},
               "reason": "FailedScheduling", "type": "Warning", "message": "0/1 nodes are available"}),
    ]
}

fn meta() -> ScenarioMeta {
    let mut meta = ScenarioMeta::default();
    meta.logs.insert(
        "default/spice-runner-a/alloy".into(),
        "one\ntwo\nthree\n".into(),
    );
    meta
}

fn sim_with(meta: ScenarioMeta) -> Sim {
    Sim::start(Scenario::from_objects("sim-selftest", objects(), meta))
}

fn forbid(verb: &str, resource: &str, group: &str, namespace: Option<&str>) -> Forbidden {
    Forbidden {
        verb: verb.into(),
        resource: resource.into(),
        group: group.into(),
        namespace: namespace.map(Into::into),
    }
}

/// The real kubectl with a kubeconfig and discovery cache of its own.
struct Kubectl {
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

impl Kubectl {
    fn new(sim: &Sim) -> Kubectl {
        Kubectl::with_config(&sim.kubeconfig_yaml(sim.token()))
    }

    fn with_config(text: &str) -> Kubectl {
        let dir = tempfile::tempdir().expect("temp dir");
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, text).expect("write kubeconfig");
        Kubectl { dir, kubeconfig }
    }

    fn command(&self, args: &[&str]) -> Command {
        let program = std::env::var("KUBECTL").unwrap_or_else(|_| "kubectl".into());
        let mut cmd = Command::new(program);
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--request-timeout=20s")
            .args(args)
            .env_remove("KUBECONFIG")
            .env("HOME", self.dir.path())
            .env("KUBECACHEDIR", self.dir.path().join("cache"))
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args)
            .output()
            .expect("kubectl runs (is it on PATH? set KUBECTL to its path)")
    }

    /// Runs and asserts success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Runs and asserts failure; returns stderr.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "kubectl {args:?} succeeded: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).expect("utf-8 stderr")
    }
}

fn names(list_json: &str) -> Vec<String> {
    let list: Value = serde_json::from_str(list_json).expect("kubectl printed JSON");
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

fn lines(s: &str) -> Vec<&str> {
    s.lines().filter(|l| !l.is_empty()).collect()
}

// ---------------------------------------------------------------- tests

#[test]
fn kubectl_lists_pods_nodes_and_scaledobjects() {
    let sim = sim_with(meta());
    let kubectl = Kubectl::new(&sim);

    let pods = kubectl.ok(&["get", "pods", "-l", "app=spice-runner", "-o", "json"]);
    assert_eq!(names(&pods), ["spice-runner-a", "spice-runner-b"]);
    let list: Value = serde_json::from_str(&pods).unwrap();
    let b = &list["items"][1];
    let created = sim.started_at() - Duration::from_secs(120);
    assert_eq!(
        b["metadata"]["creationTimestamp"],
        rfc3339(created),
        "$NOW-120s resolves against the start"
    );
    assert!(
        b["metadata"]["uid"].as_str().is_some_and(|u| u.len() == 36),
        "uid filled in: {b}"
    );
    assert!(
        b["metadata"]["resourceVersion"]
            .as_str()
            .is_some_and(|rv| rv.parse::<u64>().is_ok())
    );

    assert_eq!(
        lines(&kubectl.ok(&["get", "so", "-n", "default", "-o", "name"])),
        ["scaledobject.keda.sh/spice-runner"]
    );
    assert_eq!(
        lines(&kubectl.ok(&["get", "nodes", "-o", "name"])),
        ["node/node-1"]
    );
    assert_eq!(
        lines(&kubectl.ok(&["get", "pods", "-A", "-o", "name"])).len(),
        3
    );
    // Without -o, kubectl asks for a Table and falls back to its own columns.
    let table = kubectl.ok(&["get", "pods"]);
    assert!(
        table.starts_with("NAME") && table.contains("spice-runner-b"),
        "{table}"
    );

    let single: Value =
        serde_json::from_str(&kubectl.ok(&["get", "pod", "other", "-o", "json"])).unwrap();
    assert_eq!(
        (single["kind"].as_str(), single["apiVersion"].as_str()),
        (Some("Pod"), Some("v1"))
    );
    let stderr = kubectl.fails(&["get", "pod", "nope"]);
    assert!(
        stderr.contains(r#"Error from server (NotFound): pods "nope" not found"#),
        "{stderr}"
    );

    // The events.k8s.io/v1 view of a core Event.
    let ev: Value = serde_json::from_str(&kubectl.ok(&[
        "get",
        "events.v1.events.k8s.io",
        "spice-runner-b.1",
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(ev["regarding"]["name"], "spice-runner-b");
    assert_eq!(ev["note"], "0/1 nodes are available");
}

#[test]
fn a_wrong_token_is_unauthorized() {
    let sim = sim_with(meta());
    let kubectl = Kubectl::with_config(&sim.kubeconfig_yaml("not-the-token"));
    // Word for word what kubectl prints against a real cluster with a bad token.
    let stderr = kubectl.fails(&["get", "pods"]);
    assert!(
        stderr.contains("error: You must be logged in to the server (the server has asked for the client to provide credentials)"),
        "{stderr}"
    );

    let unauthorized = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#;
    for token in [Some("not-the-token"), None] {
        let resp = sim
            .request_raw("GET", "/api/v1/namespaces/default/pods", token, None)
            .unwrap();
        assert_eq!((resp.status, resp.body.as_str()), (401, unauthorized));
        assert_eq!(resp.content_type, "application/json");
    }
    assert_eq!(
        sim.request_raw("GET", "/healthz", None, None).unwrap().body,
        "ok"
    );
}

#[test]
fn forbidden_not_found_and_bad_requests_are_exact_statuses() {
    let mut meta = meta();
    meta.forbidden = vec![
        forbid("list", "scaledobjects", "keda.sh", Some("default")),
        forbid("list", "nodes", "", None),
        forbid("get", "pods/log", "", None),
    ];
    let sim = sim_with(meta);

    let so = sim.get_raw("/apis/keda.sh/v1alpha1/namespaces/default/scaledobjects");
    assert_eq!(so.status, 403);
    assert_eq!(
        so.body,
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"scaledobjects.keda.sh is forbidden: User \"alice\" cannot list resource \"scaledobjects\" in API group \"keda.sh\" in the namespace \"default\"","reason":"Forbidden","details":{"group":"keda.sh","kind":"scaledobjects"},"code":403}"#
    );
    // Another namespace is allowed; every namespace at once is not.
    assert_eq!(
        sim.get_raw("/apis/keda.sh/v1alpha1/namespaces/other/scaledobjects")
            .status,
        200
    );
    assert_eq!(
        sim.get_raw("/apis/keda.sh/v1alpha1/scaledobjects").status,
        403
    );

    let nodes = sim.get_raw("/api/v1/nodes").json();
    assert_eq!(
        nodes["message"],
        r#"nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the cluster scope"#
    );
    assert_eq!(nodes["details"], json!({"kind": "nodes"}));

    let log = sim
        .get_raw("/api/v1/namespaces/default/pods/spice-runner-a/log?container=alloy")
        .json();
    assert_eq!(
        log["message"],
        r#"pods "spice-runner-a" is forbidden: User "alice" cannot get resource "pods/log" in API group "" in the namespace "default""#
    );
    assert_eq!(
        log["details"],
        json!({"name": "spice-runner-a", "kind": "pods"})
    );

    let kubectl = Kubectl::new(&sim);
    let stderr = kubectl.fails(&["get", "so"]);
    assert!(
        stderr.contains("Error from server (Forbidden): scaledobjects.keda.sh is forbidden"),
        "{stderr}"
    );

    let missing = sim.get_raw("/apis/keda.sh/v1alpha1/namespaces/default/scaledobjects/x");
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.body,
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"scaledobjects.keda.sh \"x\" not found","reason":"NotFound","details":{"name":"x","group":"keda.sh","kind":"scaledobjects"},"code":404}"#
    );
    assert_eq!(
        sim.get_raw("/api/v1/namespaces/default/pods/x").body,
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \"x\" not found","reason":"NotFound","details":{"name":"x","kind":"pods"},"code":404}"#
    );

    // A path nothing serves falls through to the apiserver's NotFound
    // handler: Go's plain-text http.NotFound, never a JSON Status.
    for path in [
        "/api/v1/namespaces/default/widgets",
        "/apis/example.com/v1/widgets",
    ] {
        let unknown = sim.get_raw(path);
        assert_eq!(
            (unknown.status, unknown.body.as_str()),
            (404, "404 page not found\n"),
            "{path}"
        );
    }

    let bad_field = sim.get_raw("/api/v1/namespaces/default/pods?fieldSelector=spec.colour%3Dblue");
    assert_eq!(
        (bad_field.status, bad_field.body.as_str()),
        (
            400,
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"field label not supported: spec.colour","reason":"BadRequest","code":400}"#
        )
    );
    assert_eq!(
        sim.get_raw("/api/v1/namespaces/default/pods?labelSelector=app%20in%20spice")
            .status,
        400
    );

    // The plugin is read-only: a write is refused loudly.
    let post = sim
        .request_raw(
            "POST",
            "/api/v1/namespaces/default/pods",
            Some(sim.token()),
            Some("{}"),
        )
        .unwrap();
    assert_eq!(
        (post.status, post.body.as_str()),
        (
            405,
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server does not allow this method on the requested resource","reason":"MethodNotAllowed","details":{},"code":405}"#
        )
    );
}

#[test]
fn an_uninstalled_group_is_an_unknown_resource_type() {
    let mut meta = meta();
    meta.installed = vec!["karpenter".into()];
    let mut objs = objects();
    objs.retain(|o| o["kind"] != "ScaledObject");
    let sim = Sim::start(Scenario::from_objects("no-keda", objs, meta));

    let kubectl = Kubectl::new(&sim);
    let stderr = kubectl.fails(&["get", "scaledobjects"]);
    assert!(
        stderr.contains(r#"the server doesn't have a resource type "scaledobjects""#),
        "{stderr}"
    );
    let groups = sim.get_raw("/apis").json();
    let names: Vec<&str> = groups["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"karpenter.sh") && !names.contains(&"keda.sh"),
        "{names:?}"
    );
    assert_eq!(sim.get_raw("/apis/keda.sh/v1alpha1").status, 404);
    let so = sim.get_raw("/apis/keda.sh/v1alpha1/namespaces/default/scaledobjects");
    assert_eq!((so.status, so.body.as_str()), (404, "404 page not found\n"));
    assert_eq!(so.content_type, "text/plain; charset=utf-8");
}

#[test]
fn field_and_set_based_selectors_filter_lists() {
    let sim = sim_with(meta());
    let kubectl = Kubectl::new(&sim);
    let get = |args: &[&str]| {
        let mut full = vec!["get", "pods", "-o", "json"];
        full.extend_from_slice(args);
        names(&kubectl.ok(&full))
    };
    assert_eq!(
        get(&[
            "-l",
            "app in (spice-runner)",
            "--field-selector",
            "status.phase=Running"
        ]),
        ["spice-runner-a"]
    );
    assert_eq!(
        get(&["--field-selector", "status.phase=Pending"]),
        ["spice-runner-b"]
    );
    assert_eq!(
        get(&[
            "--field-selector",
            "status.phase!=Pending,spec.nodeName=node-1"
        ]),
        ["other", "spice-runner-a"]
    );
    assert_eq!(get(&["-l", "app notin (spice-runner)"]), ["other"]);
    assert_eq!(
        get(&["-l", "app!=other,app"]),
        ["spice-runner-a", "spice-runner-b"]
    );
    assert!(get(&["-l", "!app"]).is_empty());

    let stderr = kubectl.fails(&["get", "pods", "--field-selector", "spec.colour=blue"]);
    assert!(
        stderr.contains("field label not supported: spec.colour"),
        "{stderr}"
    );

    let events = sim.get_raw(
        "/api/v1/namespaces/default/events?fieldSelector=involvedObject.kind%3DPod%2CinvolvedObject.name%3Dspice-runner-b%2Creason%3DFailedScheduling",
    );
    assert_eq!(
        events.json()["items"].as_array().map(Vec::len),
        Some(1),
        "{}",
        events.body
    );
    let list = sim
        .get_raw("/api/v1/namespaces/default/pods?labelSelector=app%3Dspice-runner")
        .json();
    assert_eq!(list["kind"], "PodList");
    assert!(
        list["items"][0].get("kind").is_none(),
        "list items carry no kind, as on a real server"
    );
    assert!(
        list["metadata"]["resourceVersion"]
            .as_str()
            .is_some_and(|rv| rv.parse::<u64>().is_ok())
    );
}

#[test]
fn kubectl_watch_sees_existing_pods_then_changes() {
    let sim = sim_with(meta());
    let kubectl = Kubectl::new(&sim);
    let mut child = kubectl
        .command(&[
            "get",
            "pods",
            "-l",
            "app=spice-runner",
            "-w",
            "--output-watch-events",
            "-o",
            r#"jsonpath={.type} {.object.metadata.name} {.object.status.phase}{"\n"}"#,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl runs");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let mut wait_for = |want: &str| {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !seen.iter().any(|l: &String| l == want) {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => seen.push(line),
                Err(_) => return Err(format!("no {want:?} within 15 s; saw {seen:?}")),
            }
        }
        Ok(())
    };
    let result = (|| {
        wait_for("ADDED spice-runner-a Running")?;
        wait_for("ADDED spice-runner-b Pending")?;
        sim.apply(pod(
            "spice-runner-b",
            "spice-runner",
            "Running",
            &["runner"],
            "$NOW-120s",
        ));
        wait_for("MODIFIED spice-runner-b Running")?;
        sim.apply(pod(
            "spice-runner-c",
            "spice-runner",
            "Pending",
            &["runner"],
            "$NOW",
        ));
        wait_for("ADDED spice-runner-c Pending")?;
        sim.delete("v1", "Pod", Some("default"), "spice-runner-a");
        wait_for("DELETED spice-runner-a Running")
    })();
    let _ = child.kill();
    let _ = child.wait();
    result.unwrap();
}

#[test]
fn raw_watches_replay_filter_bookmark_and_expire() {
    let sim = sim_with(meta());
    let pods = "/api/v1/namespaces/default/pods";
    let from = sim.resource_version();
    sim.apply(pod(
        "spice-runner-b",
        "spice-runner",
        "Running",
        &["runner"],
        "$NOW-120s",
    ));
    sim.apply(pod("other", "moved", "Running", &["main"], "$NOW-1h"));

    // From a resourceVersion: only what happened after it, selectors applied,
    // and an object leaving the selection is DELETED for this watcher.
    let body = sim.get_raw(&format!("{pods}?watch=1&resourceVersion={from}&timeoutSeconds=1&labelSelector=app%21%3Dspice-runner")).body;
    let events: Vec<Value> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let got: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap(),
                e["object"]["metadata"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, [("MODIFIED", "other")], "{body}");
    assert_eq!(
        events[0]["object"]["kind"], "Pod",
        "watch objects carry their kind"
    );

    let body = sim
        .get_raw(&format!(
            "{pods}?watch=true&resourceVersion={from}&timeoutSeconds=1&labelSelector=app%3Dother"
        ))
        .body;
    assert!(
        body.starts_with(r#"{"type":"DELETED","object":{"#) && body.contains(r#""name":"other""#),
        "{body}"
    );

    // sendInitialEvents: the current objects, then the initial-events-end bookmark.
    let body = sim
        .get_raw(&format!("{pods}?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1"))
        .body;
    let types: Vec<String> = body
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(types, ["ADDED", "ADDED", "ADDED", "BOOKMARK"], "{body}");
    assert!(
        body.contains(r#""k8s.io/initial-events-end":"true""#),
        "{body}"
    );

    // A live change reaches an open watch.
    let started = Instant::now();
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(300));
            sim.delete("v1", "Pod", Some("default"), "spice-runner-a");
        });
        let body = sim
            .get_raw(&format!(
                "{pods}?watch=1&resourceVersion={}&timeoutSeconds=1",
                sim.resource_version()
            ))
            .body;
        assert!(
            body.starts_with(r#"{"type":"DELETED""#) && body.contains("spice-runner-a"),
            "{body}"
        );
    });
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "timeoutSeconds ends the stream, not sooner"
    );

    // After a compaction the old resourceVersion is gone: 410 inside an ERROR event.
    sim.compact();
    let body = sim
        .get_raw(&format!("{pods}?watch=1&resourceVersion={from}"))
        .body;
    assert_eq!(
        body,
        format!(
            "{{\"type\":\"ERROR\",\"object\":{{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{{}},\"status\":\"Failure\",\"message\":\"too old resource version: {from} ({})\",\"reason\":\"Expired\",\"code\":410}}}}\n",
            sim.resource_version()
        )
    );
}

#[test]
fn kubectl_logs_reads_a_container_log() {
    let sim = sim_with(meta());
    let kubectl = Kubectl::new(&sim);
    assert_eq!(
        kubectl.ok(&["logs", "spice-runner-a", "-c", "alloy"]),
        "one\ntwo\nthree\n"
    );
    assert_eq!(
        kubectl.ok(&["logs", "spice-runner-a", "-c", "alloy", "--tail=1"]),
        "three\n"
    );
    let stamped = kubectl.ok(&["logs", "spice-runner-a", "-c", "alloy", "--timestamps"]);
    let texts: Vec<&str> = stamped
        .lines()
        .map(|l| {
            let (stamp, text) = l.split_once(' ').expect("timestamp, space, text");
            assert!(
                stamp.len() == 30 && stamp.ends_with('Z'),
                "RFC 3339 with nanoseconds: {l}"
            );
            text
        })
        .collect();
    assert_eq!(texts, ["one", "two", "three"]);

    let which = sim.get_raw("/api/v1/namespaces/default/pods/spice-runner-a/log");
    assert_eq!(which.status, 400);
    assert_eq!(
        which.json()["message"],
        "a container name must be specified for pod spice-runner-a, choose one of: [runner alloy]"
    );
    let only = sim.get_raw("/api/v1/namespaces/default/pods/spice-runner-b/log");
    assert_eq!(
        (only.status, only.content_type.as_str(), only.body.as_str()),
        (200, "text/plain", "")
    );
    let missing = sim.get_raw("/api/v1/namespaces/default/pods/nope/log?container=x");
    assert_eq!(
        (missing.status, missing.json()["message"].as_str()),
        (404, Some(r#"pods "nope" not found"#))
    );
    let bad = sim.get_raw("/api/v1/namespaces/default/pods/spice-runner-a/log?container=nginx");
    assert_eq!(
        bad.json()["message"],
        "container nginx is not valid for pod spice-runner-a"
    );
}

/// A one-connection-at-a-time HTTP upstream answering `body` to everything;
/// returns its base URL and the request lines it saw.
fn upstream(body: &'static str) -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { break };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            let mut length = 0;
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                    break;
                }
                if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut content = vec![0; length];
            let _ = reader.read_exact(&mut content);
            let _ = tx.send(
                format!(
                    "{} {}",
                    request_line.trim_end(),
                    String::from_utf8_lossy(&content)
                )
                .trim_end()
                .to_string(),
            );
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, rx)
}

#[test]
fn service_proxy_forwards_and_reports_errors() {
    let sim = sim_with(meta());
    let kubectl = Kubectl::new(&sim);
    let path =
        "/api/v1/namespaces/observability/services/prometheus:9090/proxy/api/v1/query?query=up";

    let no_endpoints = sim.get_raw(path);
    assert_eq!(
        (no_endpoints.status, no_endpoints.body.as_str()),
        (
            503,
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"no endpoints available for service \"prometheus\"","reason":"ServiceUnavailable","code":503}"#
        )
    );

    let answer = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
    let (url, seen) = upstream(answer);
    sim.set_proxy_upstream("observability", "prometheus", "9090", &url);
    assert_eq!(kubectl.ok(&["get", "--raw", path]), answer);
    // kubectl adds its --request-timeout as `timeout=20s`; the proxy passes the query on as is.
    assert_eq!(
        seen.recv_timeout(Duration::from_secs(5)).unwrap(),
        "GET /api/v1/query?query=up&timeout=20s HTTP/1.1"
    );
    // The port by name, the scheme-prefixed form, and a POSTed form body.
    let by_name = sim.get_raw(
        "/api/v1/namespaces/observability/services/http:prometheus:web/proxy/api/v1/labels",
    );
    assert_eq!(
        (
            by_name.status,
            by_name.content_type.as_str(),
            by_name.body.as_str()
        ),
        (200, "application/json", answer)
    );
    assert_eq!(
        seen.recv_timeout(Duration::from_secs(5)).unwrap(),
        "GET /api/v1/labels HTTP/1.1"
    );
    let post = sim
        .request_raw(
            "POST",
            "/api/v1/namespaces/observability/services/prometheus:9090/proxy/api/v1/query",
            Some(sim.token()),
            Some("query=up"),
        )
        .unwrap();
    assert_eq!(post.status, 200);
    assert_eq!(
        seen.recv_timeout(Duration::from_secs(5)).unwrap(),
        "POST /api/v1/query HTTP/1.1 query=up"
    );

    let missing = sim.get_raw("/api/v1/namespaces/observability/services/grafana:3000/proxy/");
    assert_eq!(
        missing.body,
        r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"services \"grafana\" not found","reason":"NotFound","details":{"name":"grafana","kind":"services"},"code":404}"#
    );

    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = closed.local_addr().unwrap();
    drop(closed);
    sim.set_proxy_upstream(
        "observability",
        "prometheus",
        "9090",
        &format!("http://{dead}"),
    );
    let refused = sim.get_raw(path).json();
    assert_eq!(
        refused["message"].as_str(),
        Some(
            format!("error trying to reach service: dial tcp {dead}: connect: connection refused")
                .as_str()
        )
    );
    assert_eq!(
        (refused["code"].as_u64(), refused["reason"].as_str()),
        (Some(503), Some("ServiceUnavailable"))
    );
}

#[test]
fn latency_faults_and_the_request_log() {
    let sim = sim_with(meta());
    let pods = "/api/v1/namespaces/default/pods";

    sim.reset_requests();
    for _ in 0..3 {
        assert_eq!(
            sim.get_raw(&format!("{pods}?labelSelector=app%3Dspice-runner"))
                .status,
            200
        );
    }
    sim.get_raw("/api/v1/nodes");
    let requests = sim.requests();
    assert_eq!(requests.iter().filter(|r| *r == "GET /api/v1/namespaces/default/pods?labelSelector=app%3Dspice-runner").count(), 3);
    assert_eq!(requests.len(), 4, "{requests:?}");

    sim.set_latency(Duration::from_millis(300));
    let t = Instant::now();
    sim.get_raw(pods);
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    sim.set_latency(Duration::ZERO);

    sim.inject("/api/v1/nodes", Fault::latency(Duration::from_millis(400)));
    let t = Instant::now();
    assert_eq!(sim.get_raw("/api/v1/nodes").status, 200);
    assert!(
        t.elapsed() >= Duration::from_millis(400),
        "{:?}",
        t.elapsed()
    );

    sim.inject("/api/v1/namespaces/default/pods", Fault::status(500));
    let failed = sim.get_raw(pods);
    assert_eq!(
        (failed.status, failed.body.as_str()),
        (
            500,
            r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Internal error occurred: injected fault","reason":"InternalError","details":{"causes":[{"message":"injected fault"}]},"code":500}"#
        )
    );
    let busy = sim.get_raw(&format!("{pods}/x"));
    assert_eq!(busy.status, 500, "a prefix covers everything under it");
    sim.inject("/api/v1/namespaces/default/pods/x", Fault::status(429));
    assert_eq!(
        sim.get_raw(&format!("{pods}/x")).json()["reason"],
        "TooManyRequests",
        "the longest prefix wins"
    );
    assert_eq!(
        sim.get_raw("/api/v1/namespaces/observability/pods").status,
        200
    );

    let kubectl = Kubectl::new(&sim);
    let stderr = kubectl.fails(&["get", "pods"]);
    assert!(
        stderr
            .contains("Error from server (InternalError): Internal error occurred: injected fault"),
        "{stderr}"
    );

    // (kubectl retries a dropped GET ten times, so only a raw request here.)
    sim.inject("/api/v1/namespaces/default/pods", Fault::close());
    assert!(
        sim.request_raw("GET", pods, Some(sim.token()), None)
            .is_err(),
        "connection dropped without an answer"
    );

    sim.clear_faults();
    assert_eq!(sim.get_raw(pods).status, 200);
    assert!(
        sim.requests()
            .iter()
            .filter(|r| r.starts_with("GET /api/v1/namespaces/default/pods"))
            .count()
            >= 8
    );
}

#[test]
fn kube_rs_lists_gets_and_watches() {
    use futures::{StreamExt, TryStreamExt};
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{
        Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, WatchEvent, WatchParams,
    };

    let sim = sim_with(meta());
    let dir = tempfile::tempdir().unwrap();
    let path = sim.write_kubeconfig(dir.path());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let kubeconfig = kube::config::Kubeconfig::read_from(&path).unwrap();
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .unwrap();
        let client = kube::Client::try_from(config).unwrap();

        let pods: Api<Pod> = Api::default_namespaced(client.clone());
        let list = pods
            .list(
                &ListParams::default()
                    .labels("app=spice-runner")
                    .fields("status.phase=Pending"),
            )
            .await
            .unwrap();
        let names: Vec<_> = list
            .items
            .iter()
            .map(|p| p.metadata.name.clone().unwrap())
            .collect();
        assert_eq!(names, ["spice-runner-b"]);

        match pods.get("nope").await {
            Err(kube::Error::Api(status)) => {
                assert_eq!((status.code, status.reason.as_str()), (404, "NotFound"));
                assert_eq!(status.message, r#"pods "nope" not found"#);
            }
            other => panic!("expected a 404, got {other:?}"),
        }

        let gvk = GroupVersionKind::gvk("keda.sh", "v1alpha1", "ScaledObject");
        let so: Api<DynamicObject> = Api::namespaced_with(
            client.clone(),
            "default",
            &ApiResource::from_gvk_with_plural(&gvk, "scaledobjects"),
        );
        assert_eq!(
            so.get("spice-runner").await.unwrap().data["spec"]["maxReplicaCount"],
            10
        );

        let stream = pods
            .watch(
                &WatchParams::default().labels("app=spice-runner").timeout(2),
                "0",
            )
            .await
            .unwrap();
        let mut stream = stream.boxed();
        let mut added = Vec::new();
        while added.len() < 2 {
            match tokio::time::timeout(Duration::from_secs(5), stream.try_next()).await {
                Ok(Ok(Some(WatchEvent::Added(p)))) => added.push(p.metadata.name.unwrap()),
                other => panic!("unexpected watch item: {other:?}"),
            }
        }
        assert_eq!(added, ["spice-runner-a", "spice-runner-b"]);
        sim.apply(pod(
            "spice-runner-b",
            "spice-runner",
            "Running",
            &["runner"],
            "$NOW-120s",
        ));
        match tokio::time::timeout(Duration::from_secs(5), stream.next()).await {
            Ok(Some(Ok(WatchEvent::Modified(p)))) => {
                assert_eq!(p.status.unwrap().phase.as_deref(), Some("Running"));
            }
            other => panic!("expected MODIFIED, got {other:?}"),
        }
    });
}

#[test]
fn time_placeholders_resolve_to_rfc3339() {
    let now = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29T00:00:00Z
    let mut v = json!({"a": "$NOW", "b": ["$NOW-120s", {"c": "$NOW+2m"}], "d": "$NOW-1h", "e": "$NOW-1d", "f": "NOW", "g": 5});
    resolve_times(&mut v, now);
    assert_eq!(
        v,
        json!({"a": "2000-02-29T00:00:00Z", "b": ["2000-02-28T23:58:00Z", {"c": "2000-02-29T00:02:00Z"}],
               "d": "2000-02-28T23:00:00Z", "e": "2000-02-28T00:00:00Z", "f": "NOW", "g": 5})
    );
    assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
    assert_eq!(
        rfc3339(UNIX_EPOCH + Duration::from_secs(1_750_000_000)),
        "2025-06-15T15:06:40Z"
    );
}

#[test]
fn every_scenario_file_is_served() {
    use crate::support::scenario::scenarios_dir;
    let mut dirs: Vec<_> = std::fs::read_dir(scenarios_dir())
        .expect("tests/scenarios")
        .filter_map(Result::ok)
        .filter(|e| e.path().join("objects.yaml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no scenario directories found");
    for name in dirs {
        let scenario = Scenario::load(&name);
        let count = |kind: &str| scenario.of_kind(kind).count();
        let (pods, nodes, sos) = (count("Pod"), count("Node"), count("ScaledObject"));
        let keda = scenario.installed("keda");
        let denied: Vec<String> = scenario
            .meta
            .forbidden
            .iter()
            .filter(|f| f.verb == "list" && f.namespace.is_none())
            .map(|f| f.resource.clone())
            .collect();
        let sim = Sim::start(scenario);
        let items = |path: &str| {
            let resp = sim.get_raw(path);
            if denied.iter().any(|r| path.ends_with(&format!("/{r}"))) {
                assert_eq!(
                    resp.status, 403,
                    "{name}: GET {path} is forbidden: {}",
                    resp.body
                );
                return 0;
            }
            assert_eq!(resp.status, 200, "{name}: GET {path}: {}", resp.body);
            assert!(
                !resp.body.contains("\"$NOW"),
                "{name}: an unresolved time placeholder in {path}"
            );
            resp.json()["items"].as_array().map_or(0, Vec::len)
        };
        assert_eq!(items("/api/v1/pods"), pods, "{name}: pods");
        assert_eq!(items("/api/v1/nodes"), nodes, "{name}: nodes");
        items("/api/v1/events");
        if keda && !denied.iter().any(|r| r == "scaledobjects") {
            assert_eq!(
                items("/apis/keda.sh/v1alpha1/scaledobjects"),
                sos,
                "{name}: scaledobjects"
            );
        }
    }
}

/// A Deployment with a scale subresource, as `kubectl get -o json` prints one.
fn with_deployment() -> Vec<Value> {
    let mut objs = objects();
    objs.push(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "spice-runner", "namespace": "default"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "spice-runner"}}},
        "status": {"replicas": 2, "readyReplicas": 2},
    }));
    objs
}

#[test]
fn kubectl_scale_and_patch_write_the_scale_subresource() {
    let sim = Sim::start(Scenario::from_objects(
        "sim-scale",
        with_deployment(),
        meta(),
    ));
    let kubectl = Kubectl::new(&sim);
    let deploy = ["deployment", "spice-runner", "-n", "default"];
    let replicas = |k: &Kubectl| {
        let args = [&["get"][..], &deploy, &["-o", "jsonpath={.spec.replicas}"]].concat();
        k.ok(&args)
    };
    // `kubectl scale` sends a JSON merge patch.
    let out = kubectl.ok(&[&["scale"][..], &deploy, &["--replicas=0"]].concat());
    assert!(out.contains("deployment.apps/spice-runner scaled"), "{out}");
    assert_eq!(replicas(&kubectl), "0");
    let scale: Value = serde_json::from_str(
        &kubectl.ok(&[
            &["get"][..],
            &deploy,
            &["--subresource=scale", "-o", "json"],
        ]
        .concat()),
    )
    .expect("a Scale");
    assert_eq!(scale["kind"], "Scale");
    assert_eq!(scale["apiVersion"], "autoscaling/v1");
    assert_eq!(scale["spec"]["replicas"], 0);
    assert_eq!(scale["status"]["selector"], "app=spice-runner");
    // `kubectl patch` sends a strategic merge patch unless told otherwise.
    let patch = r#"{"spec":{"replicas":3}}"#;
    kubectl.ok(&[
        &["patch"][..],
        &deploy,
        &["--subresource=scale", "-p", patch],
    ]
    .concat());
    assert_eq!(replicas(&kubectl), "3");
    let patch = r#"{"spec":{"replicas":-1}}"#;
    let stderr = kubectl.fails(
        &[
            &["patch"][..],
            &deploy,
            &["--subresource=scale", "--type=merge", "-p", patch],
        ]
        .concat(),
    );
    assert!(
        stderr.contains("spec.replicas: Invalid value: -1: must be greater than or equal to 0"),
        "{stderr}"
    );
    let stale = r#"{"metadata":{"resourceVersion":"1"},"spec":{"replicas":1}}"#;
    let stderr = kubectl.fails(
        &[
            &["patch"][..],
            &deploy,
            &["--subresource=scale", "--type=merge", "-p", stale],
        ]
        .concat(),
    );
    assert!(stderr.contains("the object has been modified"), "{stderr}");
    let stderr = kubectl.fails(
        &[
            &["patch"][..],
            &deploy,
            &["--subresource=scale", "--type=json", "-p", "[]"],
        ]
        .concat(),
    );
    assert!(stderr.contains("unknown format"), "{stderr}");
    assert_eq!(replicas(&kubectl), "3", "refused patches wrote nothing");
    let patches: Vec<String> = sim
        .requests()
        .into_iter()
        .filter(|r| r.starts_with("PATCH "))
        .collect();
    assert_eq!(patches.len(), 5, "{patches:?}");
    assert!(
        patches.iter().all(|r| r
            .starts_with("PATCH /apis/apps/v1/namespaces/default/deployments/spice-runner/scale")),
        "{patches:?}"
    );
}

#[test]
fn a_forbidden_scale_patch_is_a_403_and_writes_nothing() {
    let mut meta = meta();
    meta.forbidden = vec![forbid(
        "patch",
        "deployments/scale",
        "apps",
        Some("default"),
    )];
    let sim = Sim::start(Scenario::from_objects("sim-scale", with_deployment(), meta));
    let kubectl = Kubectl::new(&sim);
    let stderr = kubectl.fails(&[
        "scale",
        "deployment",
        "spice-runner",
        "-n",
        "default",
        "--replicas=0",
    ]);
    assert!(
        stderr.contains(r#"deployments.apps "spice-runner" is forbidden: User "alice" cannot patch resource "deployments/scale" in API group "apps" in the namespace "default""#),
        "{stderr}"
    );
    let d = sim
        .get_raw("/apis/apps/v1/namespaces/default/deployments/spice-runner")
        .json();
    assert_eq!(d["spec"]["replicas"], 2);
    // Reading the scale is still allowed.
    let scale = sim
        .get_raw("/apis/apps/v1/namespaces/default/deployments/spice-runner/scale")
        .json();
    assert_eq!(scale["spec"]["replicas"], 2);
}
