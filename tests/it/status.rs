//! `kubectl spice status` end to end: the real binary, the cluster simulator,
//! a real Prometheus with the scenario's metric history behind the proxy.

use crate::support::spice::{BIN, Cluster, run_bin};
use serde_json::Value;

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// The gap recorded for a source in a status JSON, or a panic naming the gaps.
fn gap_of(j: &Value, source: &str) -> Value {
    let found = j["gaps"]
        .as_array()
        .and_then(|g| g.iter().find(|g| g["source"] == source).cloned());
    found.unwrap_or_else(|| panic!("no {source} gap: {}", j["gaps"]))
}

fn assert_no_ansi(text: &str) {
    assert!(
        !text.contains('\u{1b}'),
        "colour escape in piped output:\n{text}"
    );
}

#[test]
fn healthy_cluster_reports_every_section_and_a_green_ratio() {
    let c = Cluster::start("healthy");
    let run = c.spice(&["status", "-o", "json"]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let j = run.json();
    assert_eq!(j["apiVersion"], "spice.kubectl.dev/v1alpha1");
    assert_eq!(j["kind"], "Status");
    assert_eq!(j["context"], "sim");
    assert_eq!(j["namespace"], "default");
    assert_eq!(j["pods"]["total"], 3);
    assert_eq!(j["pods"]["running"], 3);
    assert_eq!(j["pods"]["pending"], 0);
    assert_eq!(j["pods"]["failed"], 0);
    assert_eq!(j["pods"]["crashLooping"], 0);
    let k = &j["keda"];
    assert_eq!(k["name"], "spice-runner-keda");
    assert_eq!(k["ready"], true);
    assert_eq!(k["active"], true);
    assert_eq!(k["paused"], false);
    assert_eq!(k["minReplicas"], 0);
    assert_eq!(k["maxReplicas"], 200);
    assert_eq!(k["triggers"], serde_json::json!(["prometheus"]));
    assert_eq!(k["pollingInterval"], 5);
    assert_eq!(k["cooldownPeriod"], 30);
    assert_eq!(f(&k["threshold"]), 1.0);
    assert_eq!(f(&k["activationThreshold"]), 0.2);
    assert_eq!(j["hpa"]["name"], "keda-hpa-spice-runner-keda");
    assert_eq!(j["hpa"]["minReplicas"], 1);
    assert_eq!(j["hpa"]["maxReplicas"], 200);
    assert_eq!(j["hpa"]["currentReplicas"], 3);
    assert_eq!(j["hpa"]["desiredReplicas"], 3);
    assert_eq!(j["nodes"]["total"], 3);
    assert_eq!(j["nodes"]["ready"], 3);
    let s = &j["sessions"];
    assert!((f(&s["rate"]) - 3.0).abs() < 0.15, "sessions {}", s["rate"]);
    assert_eq!(f(&s["runningPods"]), 3.0);
    assert!((f(&s["perPod"]) - 1.0).abs() < 0.05);
    assert_eq!(s["band"], "green");
    assert_eq!(
        j["gaps"],
        serde_json::json!([]),
        "no gaps expected: {}",
        j["gaps"]
    );
}

#[test]
fn healthy_table_is_plain_text_when_piped_and_names_each_section() {
    let c = Cluster::start("healthy");
    let run = c.spice(&["status"]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert_no_ansi(&run.stdout);
    for needle in [
        "SESSIONS  3 active · 3 running pods · ✓ 1 per pod (green)",
        "PODS      3 total: 3 Running (3 ready), 0 Pending, 0 Failed, 0 CrashLoopBackOff",
        "KEDA      spice-runner-keda → Deployment/spice-runner · READY ✓ True · ACTIVE ✓ True · not paused",
        "replicas 0–200 · triggers prometheus · threshold 1 · activation 0.2",
        "polling 5s · cooldown 30s",
        "HPA       keda-hpa-spice-runner-keda · replicas 3 → 3 (min 1, max 200)",
        "NODES     3 total, 3 Ready",
    ] {
        assert!(
            run.stdout.contains(needle),
            "missing {needle:?} in:\n{}",
            run.stdout
        );
    }
    assert!(
        run.stderr.is_empty(),
        "stderr should be empty: {}",
        run.stderr
    );
    // Forced colour works even when piped.
    let coloured = c.spice(&["status", "--color", "always"]);
    assert!(
        coloured.stdout.contains('\u{1b}'),
        "--color always must colour"
    );
    // NO_COLOR and --color never keep it plain.
    assert_no_ansi(&c.spice_env(&["status"], &[("NO_COLOR", "1")]).stdout);
}

#[test]
fn wide_output_lists_every_pod_like_kubectl() {
    let c = Cluster::start("crashloop");
    let run = c.spice(&["status", "-o", "wide"]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert!(run.stdout.contains("NAME"), "{}", run.stdout);
    let header = run
        .stdout
        .lines()
        .find(|l| l.starts_with("NAME"))
        .expect("pod table header");
    for col in ["STATUS", "READY", "RESTARTS", "AGE", "NODE"] {
        assert!(header.contains(col), "{header}");
    }
    let crash = run
        .stdout
        .lines()
        .find(|l| l.contains("CrashLoopBackOff") && l.starts_with("spice-runner-"));
    let crash = crash.unwrap_or_else(|| panic!("no CrashLoopBackOff pod row in:\n{}", run.stdout));
    assert!(crash.contains("1/2"), "{crash}");
    assert!(crash.contains(" 7 "), "restart count 7 expected: {crash}");
}

#[test]
fn idle_is_idle_not_red() {
    let c = Cluster::start("idle");
    let j = c.spice(&["status", "-o", "json"]).json();
    assert_eq!(j["pods"]["total"], 0);
    assert_eq!(f(&j["sessions"]["rate"]), 0.0);
    assert_eq!(f(&j["sessions"]["runningPods"]), 0.0);
    assert_eq!(j["sessions"]["perPod"], Value::Null);
    assert_eq!(j["sessions"]["band"], "idle");
    assert_eq!(j["keda"]["active"], false);
}

#[test]
fn pending_pods_and_unregistered_nodeclaims_are_counted() {
    let c = Cluster::start("pending");
    let run = c.spice(&["status", "-o", "json"]);
    let j = run.json();
    assert_eq!(j["pods"]["total"], 4);
    assert_eq!(j["pods"]["running"], 2);
    assert_eq!(j["pods"]["pending"], 2);
    assert_eq!(f(&j["sessions"]["pendingPods"]), 2.0);
    assert_eq!(f(&j["sessions"]["runningPods"]), 2.0);
    // 4 sessions on 2 pods: 2 per pod is beyond yellow.
    assert_eq!(j["sessions"]["band"], "red");
    let not_registered = j["karpenter"]["notRegistered"]
        .as_array()
        .expect("karpenter view");
    assert!(
        not_registered.iter().any(|n| n == "default-x7k2p"),
        "{}",
        j["karpenter"]
    );
    let table = c.spice(&["status"]).stdout;
    assert!(table.contains("2 Pending"), "{table}");
    assert!(
        table.contains("not yet registered: default-x7k2p"),
        "{table}"
    );
}

#[test]
fn crashloop_is_counted_with_restarts() {
    let c = Cluster::start("crashloop");
    let j = c.spice(&["status", "-o", "json"]).json();
    assert_eq!(j["pods"]["crashLooping"], 1);
    assert!(j["pods"]["restarts"].as_i64().expect("restarts") >= 7);
}

#[test]
fn running_pods_use_sum_not_the_runbooks_count() {
    // 1 Running + 1 Pending: the runbook's count(kube_pod_status_phase{phase="Running"})
    // answers 2; the plugin must say 1, so 1 session per pod stays green.
    let c = Cluster::start("count-vs-sum");
    let prom = c.prom.as_ref().expect("prometheus");
    let runbook = prom.value(
        r#"count(kube_pod_status_phase{pod=~"spice-runner-.*", namespace="default", phase="Running"})"#,
    );
    // 1 Running + 1 Pending game pod and the 2 nginx pods its regex also matches.
    assert_eq!(
        runbook,
        Some(4.0),
        "the scenario must reproduce the runbook's trap"
    );
    let j = c.spice(&["status", "-o", "json"]).json();
    assert_eq!(f(&j["sessions"]["runningPods"]), 1.0);
    assert_eq!(j["sessions"]["band"], "green");
}

#[test]
fn keda_not_installed_is_a_gap_not_a_crash() {
    let c = Cluster::start("keda-missing");
    let run = c.spice(&["status", "-o", "json"]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let j = run.json();
    assert_eq!(j["keda"], Value::Null);
    let gap = gap_of(&j, "scaledobject");
    assert_eq!(gap["reason"], "notInstalled");
    assert!(
        gap["message"]
            .as_str()
            .expect("message")
            .contains("scaledobjects.keda.sh"),
        "{gap}"
    );
    assert_eq!(j["pods"]["total"], 3, "other sections still print");
    let table = c.spice(&["status"]).stdout;
    assert!(
        table.contains(
            "KEDA      – not installed: the cluster does not serve scaledobjects.keda.sh"
        ),
        "{table}"
    );
}

#[test]
fn scaledobject_not_ready_shows_its_reason() {
    let c = Cluster::start("keda-not-ready");
    let j = c.spice(&["status", "-o", "json"]).json();
    assert_eq!(j["keda"]["ready"], false);
    assert_eq!(j["keda"]["readyReason"], "ScaledObjectCheckFailed");
    let table = c.spice(&["status"]).stdout;
    assert!(table.contains("READY ✗ False"), "{table}");
    assert!(
        table.contains(
            "ScaledObjectCheckFailed: ScaledObject doesn't have correct triggers specification"
        ),
        "{table}"
    );
}

#[test]
fn forbidden_scaledobjects_name_the_missing_rbac() {
    let c = Cluster::start("forbidden-scaledobjects");
    let run = c.spice(&["status", "-o", "json"]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let j = run.json();
    assert_eq!(j["keda"], Value::Null);
    let gap = gap_of(&j, "scaledobject");
    assert_eq!(gap["reason"], "forbidden");
    let msg = gap["message"].as_str().expect("message");
    assert!(
        msg.contains(r#"cannot get resource "scaledobjects" in API group "keda.sh""#),
        "{msg}"
    );
    assert_eq!(
        gap["hint"],
        r#"grant verb "get" on resource "scaledobjects" in API group "keda.sh" in namespace default (Role)"#
    );
    assert_eq!(j["pods"]["total"], 3);
    assert!(j["hpa"]["name"].is_string(), "the HPA is still read");
}

#[test]
fn prometheus_unreachable_leaves_the_rest_of_the_status() {
    let c = Cluster::without_prometheus("healthy");
    let run = c.spice(&["status", "-o", "json"]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let j = run.json();
    assert_eq!(j["sessions"]["rate"], Value::Null);
    assert_eq!(j["sessions"]["band"], "unknown");
    let gap = gap_of(&j, "prometheus");
    assert_eq!(gap["reason"], "unreachable");
    assert!(
        gap["message"]
            .as_str()
            .expect("msg")
            .contains("no endpoints available"),
        "{gap}"
    );
    assert_eq!(j["pods"]["total"], 3);
    assert_eq!(j["keda"]["ready"], true);
    let table = c.spice(&["status"]).stdout;
    assert!(table.contains("SESSIONS  ✗ unreachable:"), "{table}");
    assert!(table.contains("PODS      3 total"), "{table}");
}

#[test]
fn direct_prometheus_url_sends_the_token_and_never_prints_it() {
    let c = Cluster::start("healthy");
    let url = c.prom.as_ref().expect("prometheus").url();
    let run = c.spice_env(
        &["status", "-o", "json", "--prometheus-url", &url],
        &[("SPICE_PROMETHEUS_TOKEN", "s3cr3t-token-value")],
    );
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert!((f(&run.json()["sessions"]["rate"]) - 3.0).abs() < 0.15);
    assert!(!run.stdout.contains("s3cr3t") && !run.stderr.contains("s3cr3t"));
    // A dead direct URL is a gap with the address, still without secrets.
    let dead = c.spice_env(
        &[
            "status",
            "-o",
            "json",
            "--prometheus-url",
            "http://127.0.0.1:9/?token=abc123",
        ],
        &[("SPICE_PROMETHEUS_TOKEN", "s3cr3t-token-value")],
    );
    assert_eq!(dead.code, 0, "stderr: {}", dead.stderr);
    let text = format!("{}{}", dead.stdout, dead.stderr);
    assert!(
        !text.contains("s3cr3t") && !text.contains("abc123"),
        "{text}"
    );
    let gap = dead.json()["gaps"][0].clone();
    assert_eq!(gap["source"], "prometheus");
    assert_eq!(gap["reason"], "unreachable");
}

#[test]
fn unreachable_api_server_is_exit_2_with_one_line_and_a_hint() {
    let c = Cluster::start("healthy");
    let dead = c.dead_kubeconfig();
    let run = run_bin(
        BIN,
        &["status", "--kubeconfig", dead.to_str().expect("path")],
        &[],
        c.dir.path(),
    );
    assert_eq!(
        run.code, 2,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    assert!(run.stdout.is_empty(), "nothing on stdout: {}", run.stdout);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(
        lines.len(),
        2,
        "one error line and one hint: {}",
        run.stderr
    );
    assert!(
        lines[0].starts_with("error: cannot reach the API server https://127.0.0.1:9"),
        "{}",
        lines[0]
    );
    assert!(lines[1].starts_with("hint: "), "{}", lines[1]);
    assert!(
        !run.stderr.contains("Error {") && !run.stderr.contains("panicked"),
        "{}",
        run.stderr
    );
}

#[test]
fn rejected_token_is_exit_2_with_the_refresh_hint() {
    let c = Cluster::start("healthy");
    let bad = c.dir.path().join("bad-token.yaml");
    std::fs::write(&bad, c.sim.kubeconfig_yaml("expired-token")).expect("write");
    let run = run_bin(
        BIN,
        &["status", "--kubeconfig", bad.to_str().expect("path")],
        &[],
        c.dir.path(),
    );
    assert_eq!(
        run.code, 2,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    assert!(run.stderr.contains("401 Unauthorized"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("hint: credentials expired? run any kubectl command"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("expired-token"),
        "token leaked: {}",
        run.stderr
    );
}

#[test]
fn kubeconfig_list_skips_missing_files_like_kubectl() {
    let c = Cluster::start("healthy");
    let missing = c.dir.path().join("does-not-exist.yaml");
    let list = format!("{}:{}", missing.display(), c.kubeconfig.display());
    let run = run_bin(
        BIN,
        &["status", "-o", "json"],
        &[("KUBECONFIG", &list)],
        c.dir.path(),
    );
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert_eq!(run.json()["pods"]["total"], 3);
}

#[test]
fn exec_credential_plugin_works_when_stdout_is_a_pipe() {
    let c = Cluster::start("healthy");
    let script = c.dir.path().join("token-helper.sh");
    let cred = format!(
        r#"{{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{{"token":"{}"}}}}"#,
        c.sim.token()
    );
    // Like client-go, the plugin must tell the helper it cannot prompt when
    // stdin is not a terminal (the helper would otherwise wait for input).
    let body = format!(
        "#!/bin/sh\ncase \"$KUBERNETES_EXEC_INFO\" in *'\"interactive\":false'*) ;; \
         *) echo \"expected a non-interactive exec: $KUBERNETES_EXEC_INFO\" >&2; exit 1;; esac\n\
         cat <<'EOF'\n{cred}\nEOF\n"
    );
    std::fs::write(&script, body).expect("write");
    std::process::Command::new("chmod")
        .args(["+x", script.to_str().expect("p")])
        .status()
        .expect("chmod");
    let rewritten = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: sim\n  cluster:\n    server: {}\n    certificate-authority-data: {}\n\
         users:\n- name: alice\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      interactiveMode: IfAvailable\n\
         contexts:\n- name: sim\n  context:\n    cluster: sim\n    user: alice\n    namespace: default\ncurrent-context: sim\n",
        c.sim.url(),
        crate::support::sim::base64(c.sim.ca_pem().as_bytes()),
        script.display()
    );
    let path = c.dir.path().join("exec.yaml");
    std::fs::write(&path, &rewritten).expect("write");
    let run = run_bin(
        BIN,
        &[
            "status",
            "-o",
            "json",
            "--kubeconfig",
            path.to_str().expect("p"),
        ],
        &[],
        c.dir.path(),
    );
    assert_eq!(
        run.code, 0,
        "kubeconfig:\n{rewritten}\nstderr: {}",
        run.stderr
    );
    assert_eq!(run.json()["pods"]["total"], 3);
}

#[test]
fn namespace_comes_from_the_context_unless_a_flag_says_otherwise() {
    let c = Cluster::start("healthy");
    let run = c.spice(&["status", "-o", "json", "-n", "observability"]);
    let j = run.json();
    assert_eq!(j["namespace"], "observability");
    assert_eq!(j["pods"]["total"], 0);
    let gap = j["gaps"]
        .as_array()
        .expect("gaps")
        .iter()
        .any(|g| g["source"] == "scaledobject");
    assert!(!gap, "a missing ScaledObject is not a gap: {}", j["gaps"]);
    assert_eq!(
        c.spice(&["status", "-o", "json"]).json()["namespace"],
        "default"
    );
}

#[test]
fn config_file_settings_apply_and_bad_keys_are_one_line_errors() {
    let c = Cluster::start("healthy");
    let cfg_dir = c.dir.path().join(".config/kubectl-spice");
    std::fs::create_dir_all(&cfg_dir).expect("mkdir");
    std::fs::write(
        cfg_dir.join("config.yaml"),
        "contexts:\n  sim:\n    scaledObject: other-so\n",
    )
    .expect("write");
    let view = c.spice(&["config", "view"]);
    assert_eq!(view.code, 0, "{}", view.stderr);
    let line = view
        .stdout
        .lines()
        .find(|l| l.starts_with("scaledObject"))
        .expect("scaledObject row");
    assert!(
        line.contains("other-so") && line.contains("(contexts.sim)"),
        "{line}"
    );
    let j = c.spice(&["status", "-o", "json"]).json();
    assert_eq!(j["keda"], Value::Null, "other-so does not exist");
    std::fs::write(
        cfg_dir.join("config.yaml"),
        "deployment: x\nscaledobject: typo\n",
    )
    .expect("write");
    let bad = c.spice(&["status"]);
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.starts_with("error: "), "{}", bad.stderr);
    assert!(
        bad.stderr
            .contains("config.yaml: line 2: unknown key `scaledobject`"),
        "{}",
        bad.stderr
    );
}

#[test]
fn status_from_a_saved_snapshot_needs_no_cluster() {
    let c = Cluster::start("healthy");
    let snap = c.dir.path().join("snap.json");
    let save = c.spice(&["snapshot", "-o", snap.to_str().expect("p")]);
    assert_eq!(save.code, 0, "{}", save.stderr);
    let text = std::fs::read_to_string(&snap).expect("snapshot written");
    assert!(
        !text.contains(c.sim.token()),
        "the bearer token must never be in a snapshot"
    );
    let live = c.spice(&["status", "-o", "json"]).json();
    drop(c.sim);
    let offline = run_bin(
        BIN,
        &["status", "-o", "json", "--from", snap.to_str().expect("p")],
        &[],
        c.dir.path(),
    );
    assert_eq!(offline.code, 0, "{}", offline.stderr);
    let mut a = live.clone();
    let mut b = offline.json();
    // The replay says it is one; the rest is what the live run printed.
    assert!(b["replay"]["file"].is_string(), "{b}");
    assert!(a.get("replay").is_none(), "{a}");
    if let Some(o) = b.as_object_mut() {
        o.remove("replay");
    }
    for v in [&mut a, &mut b] {
        v["capturedAt"] = Value::Null;
        v["sessions"]["rate"] = Value::Null;
        v["sessions"]["perPod"] = Value::Null;
        if let Some(items) = v["pods"]["items"].as_array_mut() {
            for i in items {
                i["ageSeconds"] = Value::Null;
            }
        }
    }
    assert_eq!(a, b, "replay must print what the live run printed");
    let junk = c.dir.path().join("junk.json");
    std::fs::write(&junk, "{\"kind\": \"Pod\"}").expect("write");
    let bad = run_bin(
        BIN,
        &["status", "--from", junk.to_str().expect("p")],
        &[],
        c.dir.path(),
    );
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("not a kubectl-spice snapshot"),
        "{}",
        bad.stderr
    );
}

/// The shipped healthy example snapshot, edited, in a file of a new temp dir.
fn edited_example(edit: impl FnOnce(&mut Value)) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/scenarios/examples/healthy.snapshot.json"
    );
    let mut snap: Value =
        serde_json::from_str(&std::fs::read_to_string(example).expect("example")).expect("JSON");
    edit(&mut snap);
    let file = dir.path().join("edited.snapshot.json");
    std::fs::write(&file, snap.to_string()).expect("write");
    (dir, file)
}

/// The HPA reports its values as Kubernetes quantities; the HPA line reads
/// them as numbers (`1000m` is `1`), in text and in the JSON's raw values alike.
#[test]
fn hpa_metric_quantities_read_as_numbers() {
    let (dir, file) = edited_example(|snap| {
        snap["hpas"][0]["metrics"][0]["current"] = Value::from("1000m");
    });
    let from = file.to_str().expect("a UTF-8 path");
    let run = run_bin(BIN, &["status", "--from", from], &[], dir.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let hpa = run
        .stdout
        .lines()
        .find(|l| l.starts_with("HPA"))
        .unwrap_or_else(|| panic!("no HPA line in:\n{}", run.stdout));
    assert!(
        hpa.ends_with("· s0-prometheus 1/1 (avg)"),
        "the metric reads 1/1, not 1000m/1: {hpa}"
    );
    let json = run_bin(
        BIN,
        &["status", "-o", "json", "--from", from],
        &[],
        dir.path(),
    );
    assert_eq!(json.json()["hpa"]["metrics"][0]["current"], "1000m");
    // diagnose's hpa.metric writes the metric the same one way.
    let diagnose = run_bin(
        BIN,
        &["diagnose", "-o", "json", "--from", from],
        &[],
        dir.path(),
    );
    let checks = diagnose.json()["checks"].clone();
    let metric = checks
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == "hpa.metric"))
        .unwrap_or_else(|| panic!("no hpa.metric in {checks}"))
        .clone();
    assert_eq!(metric["message"], "s0-prometheus 1/1 (avg) with 3 replicas");
}

/// A pod being deleted keeps phase Running, but it is no longer counted as a
/// running pod: status counts it as draining (kubectl's Terminating), as the
/// watch view and the figures do, so the two views of the same pod list agree.
#[test]
fn a_terminating_pod_is_not_counted_as_running() {
    let (dir, file) = edited_example(|snap| {
        snap["pods"][0]["deleting"] = snap["capturedAt"].clone();
    });
    let from = file.to_str().expect("a UTF-8 path");
    let json = run_bin(
        BIN,
        &["status", "-o", "json", "--from", from],
        &[],
        dir.path(),
    )
    .json();
    assert_eq!(json["pods"]["total"], 3);
    assert_eq!(json["pods"]["running"], 2);
    assert_eq!(json["pods"]["terminating"], 1);
    let text = run_bin(BIN, &["status", "--from", from], &[], dir.path());
    assert!(
        text.stdout
            .contains("PODS      3 total: 2 Running (3 ready), 0 Pending, 0 Failed, 0 CrashLoopBackOff, 1 draining (deleted)"),
        "{}",
        text.stdout
    );
}
