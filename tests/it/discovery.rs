//! Works on any install (issue 19): the plugin finds KEDA where the cluster
//! has it — the APIService `v1beta1.external.metrics.k8s.io` names the
//! metrics server's namespace, the pods carry the Helm chart's labels or the
//! release manifests' — instead of assuming the runbook's one install. Each
//! scenario is an upstream install shape (see its objects.yaml).

use crate::diagnose::{assert_outcome, assert_root_cause, check, diagnose, message, table};
use crate::support::sim::{Exchange, Fault, waves};
use crate::support::spice::Cluster;

/// KEDA's pods found for one install shape: every check about them passes,
/// the operator's logs are read from the pods found, diagnose exits 0.
#[track_caller]
fn healthy_keda_found_in(scenario: &str, namespace: &str, operator_pod: &str, how: &str) {
    let c = Cluster::start(scenario);
    let (run, report) = diagnose(&c, &[]);
    assert_eq!(
        run.code,
        0,
        "{scenario}: stderr: {}\n{}",
        run.stderr,
        table(&report)
    );
    for id in ["keda.operator", "keda.metrics-apiserver"] {
        assert_outcome(&report, id, "pass");
    }
    // The header says where KEDA was read and how it was found.
    let read_from = report["readFrom"].as_str().unwrap_or_default();
    assert!(
        read_from.starts_with(&format!("KEDA {namespace} ({how}) · Prometheus ")),
        "{scenario}: {read_from}"
    );
    let evidence = check(&report, "keda.operator")["evidence"].to_string();
    assert!(evidence.contains(operator_pod), "{scenario}: {evidence}");
    let log = format!("/api/v1/namespaces/{namespace}/pods/{operator_pod}/log");
    assert!(
        c.sim.requests().iter().any(|r| r.contains(&log)),
        "{scenario}: the operator's logs were not read from {log}:\n{:#?}",
        c.sim.requests()
    );
}

#[test]
fn keda_from_the_release_yaml_is_found_by_its_app_labels() {
    healthy_keda_found_in(
        "keda-release-yaml",
        "keda",
        "keda-operator-7c9d6f5b8-q2w8z",
        "APIService",
    );
}

#[test]
fn keda_from_openshifts_operator_is_found_through_the_apiservice() {
    healthy_keda_found_in(
        "keda-openshift",
        "openshift-keda",
        "keda-operator-7c9d6f5b8-q2w8z",
        "APIService",
    );
}

#[test]
fn keda_as_the_aks_add_on_in_kube_system_is_found_through_the_apiservice() {
    healthy_keda_found_in(
        "keda-aks-addon",
        "kube-system",
        "keda-operator-6b8f9d7c5d-xk2lp",
        "APIService",
    );
}

/// Nothing found anywhere the plugin looked is the plugin not knowing where
/// KEDA runs: `error` naming the namespaces and the setting, never a
/// `fail` blamed on KEDA; the setting then finds it.
#[test]
fn keda_not_found_is_an_error_naming_where_it_looked_and_the_setting_finds_it() {
    let c = Cluster::start("keda-unfound");
    let (run, report) = diagnose(&c, &[]);
    assert_outcome(&report, "keda.operator", "error");
    assert_outcome(&report, "keda.metrics-apiserver", "error");
    assert_eq!(
        message(&report, "keda.operator"),
        "KEDA's pods not found in keda, kube-system, openshift-keda; set kedaNamespace",
        "{}",
        table(&report)
    );
    assert_ne!(run.code, 0, "{}", table(&report));
    assert_eq!(report["summary"]["fail"], 0, "{}", table(&report));

    let (run, report) = diagnose(&c, &["--keda-namespace", "autoscaling"]);
    assert_eq!(run.code, 0, "stderr: {}\n{}", run.stderr, table(&report));
    assert_outcome(&report, "keda.operator", "pass");
}

/// The Helm default install is found in the first wave: reading the
/// APIService adds no sequential round trip to `status`.
#[test]
fn the_helm_default_costs_no_extra_round_trip() {
    let rtt = std::time::Duration::from_millis(50);
    let c = Cluster::start("healthy");
    c.sim.set_rtt(rtt);
    c.sim.reset_wire();
    let run = c.spice(&["status", "--color", "never"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.lines().nth(1).is_some_and(
            |l| l == "KEDA keda (default) · Prometheus observability/prometheus:9090 (default)"
        ),
        "{}",
        run.stdout
    );
    let exchanges: Vec<Exchange> = c.sim.exchanges();
    let apiservice = exchanges
        .iter()
        .filter(|e| {
            e.line
                .contains("/apis/apiregistration.k8s.io/v1/apiservices/")
        })
        .count();
    assert_eq!(apiservice, 1, "the APIService is read once");
    let keda_lists = exchanges
        .iter()
        .filter(|e| e.line.contains("/api/v1/namespaces/keda/pods?"))
        .count();
    assert_eq!(keda_lists, 2, "only the two configured lists in keda");
    // kube-system is read for the node autoscalers (Karpenter's controller,
    // Cluster Autoscaler's status), never for KEDA when the default holds it.
    assert!(
        !exchanges
            .iter()
            .any(|e| e.line.contains("kube-system") && e.line.contains("keda")),
        "no fallback when the default holds KEDA"
    );
    assert_eq!(waves(&exchanges), 1, "status stays one round");
    let moved = Cluster::start("keda-release-yaml");
    moved.sim.set_rtt(rtt);
    moved.sim.reset_wire();
    let run = moved.spice(&["status", "--color", "never"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        waves(&moved.sim.exchanges()),
        2,
        "the fallback is the one extra round, taken only off the default"
    );
}

/// kube-prometheus-stack: the configured Service does not exist, so the
/// plugin reads the Prometheus the ScaledObject's trigger names and says
/// which one and why.
#[test]
fn prometheus_from_kube_prometheus_stack_is_read_through_the_triggers_address() {
    let c = Cluster::start("kube-prometheus-stack");
    let prom = c.prom.as_ref().expect("a Prometheus").url();
    c.sim
        .set_proxy_upstream("monitoring", "prometheus-operated", "9090", &prom);
    let (run, report) = diagnose(&c, &[]);
    assert_eq!(run.code, 0, "stderr: {}\n{}", run.stderr, table(&report));
    assert_outcome(&report, "keda.trigger", "pass");
    let read_from = report["readFrom"].as_str().unwrap_or_default();
    assert!(
        read_from.contains(
            "Prometheus monitoring/prometheus-operated:9090 (ScaledObject trigger) · Loki "
        ),
        "{read_from}"
    );
    let evidence = check(&report, "keda.trigger")["evidence"].to_string();
    assert!(
        evidence.contains("from the ScaledObject's trigger")
            && evidence.contains("observability/prometheus:9090"),
        "{evidence}"
    );
    assert!(
        c.sim.requests().iter().any(|r| r.contains(
            "/api/v1/namespaces/monitoring/services/prometheus-operated:9090/proxy/api/v1/query"
        )),
        "{:#?}",
        c.sim.requests()
    );
}

/// A look command repeats its query on the Prometheus that answered it: the
/// one the trigger names, not the configured Service that does not exist.
/// The printed command, run as printed (sh, the real kubectl), answers.
#[test]
fn look_commands_query_the_prometheus_the_trigger_names_and_work_as_printed() {
    let c = Cluster::start("kube-prometheus-stack");
    let prom = c.prom.as_ref().expect("a Prometheus").url();
    c.sim
        .set_proxy_upstream("monitoring", "prometheus-operated", "9090", &prom);
    // A label no series carries: prometheus.nginx-metric fails with a look.
    let (run, report) = diagnose(&c, &["--nginx-service", "spice-runner-ngnix"]);
    assert_eq!(run.code, 1, "stderr: {}\n{}", run.stderr, table(&report));
    let look = check(&report, "prometheus.nginx-metric")["remediation"]["command"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        look.starts_with(
            "kubectl get --raw '/api/v1/namespaces/monitoring/services/prometheus-operated:9090/proxy/api/v1/query?query="
        ),
        "{:#}",
        check(&report, "prometheus.nginx-metric")
    );
    let kubeconfig = c.kubeconfig.to_str().expect("utf-8 path");
    let shell = crate::support::spice::run_bin(
        "sh",
        &[
            "-c",
            &format!("{look} --kubeconfig '{kubeconfig}' --request-timeout=10s"),
        ],
        &[("PATH", "/usr/bin:/bin")],
        c.dir.path(),
    );
    assert_eq!(shell.code, 0, "{look}: {}", shell.stderr);
    let answer = shell.json();
    assert_eq!(answer["status"], "success", "{answer}");
    // The answer lists the service label the series do carry.
    assert!(
        answer.to_string().contains("spice-runner-nginx"),
        "{answer}"
    );
}

/// The same install read by `report` and `watch`, which do not collect a
/// snapshot first: after the configured Service's 404 they read the
/// Prometheus the trigger names too (one GET of the ScaledObject for
/// `report`; `watch` takes it from the ScaledObject it watches).
#[test]
fn report_and_watch_read_the_triggers_prometheus_when_the_configured_service_is_missing() {
    let c = Cluster::start("kube-prometheus-stack");
    let prom = c.prom.as_ref().expect("a Prometheus").url();
    c.sim
        .set_proxy_upstream("monitoring", "prometheus-operated", "9090", &prom);
    let through_trigger = |from: usize| {
        c.sim.requests().iter().skip(from).any(|r| {
            r.contains("/api/v1/namespaces/monitoring/services/prometheus-operated:9090/proxy/api/v1/query")
        })
    };
    let before = c.sim.requests().len();
    let report = c.spice(&["report", "--since", "1h", "-o", "json"]);
    assert_ne!(
        report.code, 3,
        "a gap: {}\n{}",
        report.stdout, report.stderr
    );
    assert!(through_trigger(before), "{}", report.stderr);
    assert!(!report.stdout.contains("not found"), "{}", report.stdout);

    let before = c.sim.requests().len();
    let watch = c.spice(&[
        "watch",
        "-o",
        "json",
        "--timeout",
        "3s",
        "--interval",
        "500ms",
    ]);
    assert!(through_trigger(before), "{}", watch.stderr);
    let last = watch
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .rfind(|f| f["kind"] == "WatchEvent")
        .unwrap_or_else(|| panic!("no frame: {}\n{}", watch.stdout, watch.stderr));
    assert_eq!(last["sessions"], 3.0, "{}", watch.stdout);
    // The trigger's Prometheus is the one read: keda.trigger has nothing to say.
    assert!(
        !watch.stdout.contains("\"id\":\"keda.trigger\""),
        "{}",
        watch.stdout
    );
}

/// The trigger names another Prometheus than the one that answers: both
/// addresses, and the address the plugin knows works as the fix.
#[test]
fn a_trigger_naming_another_prometheus_is_said_with_both_addresses_and_the_working_one() {
    let c = Cluster::start("trigger-other-prometheus");
    let (_, report) = diagnose(&c, &[]);
    assert_outcome(&report, "keda.trigger", "warn");
    let msg = message(&report, "keda.trigger");
    assert!(
        msg.contains("http://prometheus.monitoring.svc:9090")
            && msg.contains("observability/prometheus:9090"),
        "{msg}"
    );
    let fix = crate::diagnose::fix(&report, "keda.trigger");
    assert!(
        fix.contains("serverAddress: http://prometheus.observability.svc:9090"),
        "{fix}"
    );
}

/// Neither the configured Service nor the trigger's exists: the trigger
/// names a Service that does not exist, a failure with the 404's words.
#[test]
fn a_trigger_naming_a_service_that_does_not_exist_fails_keda_trigger() {
    let c = Cluster::without_prometheus("prometheus-nowhere");
    let (_, report) = diagnose(&c, &[]);
    assert_outcome(&report, "keda.trigger", "fail");
    let msg = message(&report, "keda.trigger");
    assert!(
        msg.contains("names a Service that does not exist") && msg.contains("prometheus-operated"),
        "{msg}"
    );
}

/// `-n games` (a typo): the namespace does not exist, and the one holding
/// a ScaledObject for the game's Deployment is named; the cluster-wide list
/// is read once, and only when the namespace is missing.
#[test]
fn a_namespace_that_does_not_exist_is_said_with_where_the_scaled_object_is() {
    let c = Cluster::start("healthy");
    let (_, report) = diagnose(&c, &["-n", "games"]);
    assert_outcome(&report, "keda.scaledobject", "error");
    assert_eq!(
        message(&report, "keda.scaledobject"),
        "namespace games does not exist; a ScaledObject targeting Deployment spice-runner is in namespace default",
        "{}",
        table(&report)
    );
    assert_eq!(
        crate::diagnose::fix(&report, "keda.scaledobject"),
        "run with -n default"
    );
    let all = |c: &Cluster| {
        c.sim
            .requests()
            .iter()
            .filter(|r| r.contains("/apis/keda.sh/v1alpha1/scaledobjects?"))
            .count()
    };
    assert_eq!(all(&c), 1, "{:#?}", c.sim.requests());
    // A namespace that exists without the ScaledObject reads no list.
    c.sim.reset_requests();
    let (_, report) = diagnose(&c, &["--scaled-object", "nope"]);
    assert_outcome(&report, "keda.scaledobject", "fail");
    assert_eq!(all(&c), 0, "{:#?}", c.sim.requests());
}

/// `watch` and `report` follow the same scaleTargetRef: the game's pods are
/// `spice-game`'s (3 running, the admin pod sharing the namespace left out),
/// not the configured `spice-runner`'s (none).
#[test]
fn watch_and_report_follow_the_scale_target_to_the_games_pods() {
    let c = Cluster::start("target-other-deployment");
    let watch = c.spice(&[
        "watch",
        "-o",
        "json",
        "--timeout",
        "3s",
        "--interval",
        "500ms",
    ]);
    let frame = watch
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .rfind(|f| f["kind"] == "WatchEvent")
        .unwrap_or_else(|| panic!("no frame: {}\n{}", watch.stdout, watch.stderr));
    assert_eq!(frame["runningPods"], 3, "{}", watch.stdout);
    assert_eq!(frame["band"], "green", "{}", watch.stdout);
    // The first line says what was read and followed, in status's words.
    let first: serde_json::Value = watch
        .stdout
        .lines()
        .next()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_default();
    let status = c.spice(&["status", "-o", "json"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    let status_read_from = status.json()["readFrom"].clone();
    assert!(
        status_read_from.as_str().is_some_and(|r| r.ends_with(
            " · Deployment spice-game from the ScaledObject's scaleTargetRef (pods app.kubernetes.io/name=spice-game)"
        )),
        "{status_read_from}"
    );
    assert_eq!(first["readFrom"], status_read_from, "{}", watch.stdout);
    assert!(
        c.sim
            .requests()
            .iter()
            .any(|r| r.contains("/namespaces/default/pods?")
                && r.contains("watch=")
                && r.contains("labelSelector=app.kubernetes.io%2Fname%3Dspice-game")),
        "the pods are watched with spice-game's selector"
    );

    let report = c.spice(&["report", "--since", "1h", "-o", "json"]);
    assert_ne!(report.code, 3, "{}\n{}", report.stdout, report.stderr);
    let r = report.json();
    // 3 sessions over spice-game's 3 pods; spice-runner's name has none.
    let per_pod = r["metrics"]
        .as_array()
        .and_then(|m| m.iter().find(|m| m["id"] == "sessionsPerPod"))
        .cloned()
        .unwrap_or_else(|| panic!("{r:#}"));
    assert_eq!(per_pod["verdict"], "pass", "{per_pod}");
    let v = per_pod["value"].as_f64().unwrap_or_default();
    assert!((0.9..=1.1).contains(&v), "{per_pod}");
}

/// The ScaledObject scales `spice-game`, not the runbook's `spice-runner`
/// (issue 19 item 6): the plugin follows scaleTargetRef, takes the pod
/// selector from that Deployment's spec.selector, and counts neither the
/// admin tool's pod labelled `app=spice-runner` nor its pod names.
#[test]
fn the_deployment_and_its_pods_follow_the_scaledobjects_scale_target() {
    let c = Cluster::start("target-other-deployment");
    let (run, report) = diagnose(&c, &[]);
    assert_eq!(run.code, 0, "stderr: {}\n{}", run.stderr, table(&report));
    assert_outcome(&report, "keda.scaledobject", "pass");
    assert_eq!(
        message(&report, "keda.scaledobject"),
        "ScaledObject spice-runner-keda targets Deployment spice-game (3 replicas, 3 ready)"
    );
    let read_from = report["readFrom"].as_str().unwrap_or_default();
    assert!(
        read_from.ends_with(
            " · Deployment spice-game from the ScaledObject's scaleTargetRef (pods app.kubernetes.io/name=spice-game)"
        ),
        "{read_from}"
    );
    let requests = c.sim.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.contains("/namespaces/default/pods?")
                && r.contains("labelSelector=app.kubernetes.io%2Fname%3Dspice-game")),
        "the game pods are listed with the Deployment's selector: {requests:#?}"
    );

    let snap = c.spice(&["snapshot", "-o", "-"]);
    assert_eq!(snap.code, 0, "{}", snap.stderr);
    let snap = snap.json();
    let pods: Vec<&str> = snap["pods"]
        .as_array()
        .expect("pods")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(pods.len(), 3, "{pods:?}");
    assert!(
        pods.iter().all(|p| p.starts_with("spice-game-6c7f8b9d5-")),
        "{pods:?}"
    );
    // kube-state-metrics has the admin pod too; the pod-name regex of the
    // followed Deployment leaves it out (3 running, not 4).
    assert_eq!(
        snap["prometheus"]["runningPods"]["samples"][0]["value"], 3.0,
        "{}",
        snap["prometheus"]["runningPods"]
    );
    assert_eq!(snap["scaleTarget"]["name"], "spice-game");
    assert_eq!(snap["scaleTarget"]["kind"], "Deployment");

    let view = c.spice(&["config", "view", "--discover", "-o", "json"]);
    assert_eq!(view.code, 0, "{}", view.stderr);
    let view = view.json();
    let setting = |key: &str| {
        view["settings"]
            .as_array()
            .and_then(|a| a.iter().find(|s| s["key"] == key))
            .cloned()
            .unwrap_or_default()
    };
    let deployment = setting("deployment");
    assert_eq!(deployment["value"], "spice-game", "{deployment}");
    assert_eq!(
        deployment["source"]["from"], "ScaledObject scaleTargetRef",
        "{deployment}"
    );
    let selector = setting("selector");
    assert_eq!(
        selector["value"], "app.kubernetes.io/name=spice-game",
        "{selector}"
    );
    assert_eq!(selector["source"]["kind"], "discovered", "{selector}");
}

/// A `deployment` the user gave is never second-guessed: the mismatch is
/// the finding, and the configured name's pod regex does not count the
/// `spice-runner-admin-…` pods beside it (real Prometheus, real RE2).
#[test]
fn a_set_deployment_is_not_followed_and_its_name_does_not_count_pods_sharing_its_prefix() {
    let c = Cluster::start("target-other-deployment");
    let snap = c.spice(&["snapshot", "-o", "-", "--deployment", "spice-runner"]);
    assert_eq!(snap.code, 0, "{}", snap.stderr);
    let snap = snap.json();
    assert!(snap.get("scaleTarget").is_none(), "{}", snap["scaleTarget"]);
    let running = &snap["prometheus"]["runningPods"];
    assert!(
        running["error"].is_null()
            && running["query"]
                .as_str()
                .is_some_and(|q| q.contains("spice-runner-[")),
        "{running}"
    );
    let counted = running["samples"][0]["value"].as_f64().unwrap_or(0.0);
    assert_eq!(
        counted, 0.0,
        "spice-runner-admin-… counted as spice-runner's: {running}"
    );
    let (_, report) = diagnose(&c, &["--deployment", "spice-runner"]);
    assert_outcome(&report, "keda.scaledobject", "fail");
    assert!(
        message(&report, "keda.scaledobject")
            .contains("targets Deployment/spice-game, not Deployment/spice-runner"),
        "{}",
        table(&report)
    );
}

/// KEDA scales a StatefulSet and the plugin follows it (its selector, its
/// pods' ordinal names): on a healthy cluster that is no warning. The check
/// passes saying what it followed and what it does not read for a
/// StatefulSet; the only warning is the base scenario's own (`keda.cooldown`,
/// the runbook's ScaledObject), and the run exits 0.
#[test]
fn a_followed_statefulset_target_passes_with_no_warning_of_its_own_and_exits_0() {
    let c = Cluster::start("target-statefulset");
    let (run, report) = diagnose(&c, &[]);
    assert_eq!(run.code, 0, "stderr: {}\n{}", run.stderr, table(&report));
    assert_outcome(&report, "keda.scaledobject", "pass");
    assert_eq!(
        message(&report, "keda.scaledobject"),
        "ScaledObject spice-runner-keda targets StatefulSet spice-runner, followed: pods labelled app=spice-runner, named spice-runner-<ordinal>, podManagementPolicy Parallel; not read for a StatefulSet: its replica and ready counts"
    );
    let warned: Vec<&str> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["outcome"] == "warn")
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(warned, ["keda.cooldown"], "{}", table(&report));
    assert_eq!(report["summary"]["fail"], 0, "{}", table(&report));
    assert_eq!(report["summary"]["error"], 0, "{}", table(&report));
    // Its pods (`spice-runner-0` …) are counted by their ordinal names.
    assert_outcome(&report, "sessions.ratio", "pass");
    assert!(
        message(&report, "sessions.ratio").contains("3 running pods"),
        "{}",
        table(&report)
    );
    let read_from = report["readFrom"].as_str().unwrap_or_default();
    assert!(
        read_from.ends_with(
            " · StatefulSet spice-runner from the ScaledObject's scaleTargetRef (pods app=spice-runner)"
        ),
        "{read_from}"
    );
    // The StatefulSet was read (its selector), with the user's credentials.
    assert!(
        c.sim
            .requests()
            .iter()
            .any(|r| r.contains("/apis/apps/v1/namespaces/default/statefulsets/spice-runner")),
        "{:#?}",
        c.sim.requests()
    );
}

/// `watch`, piped, says the StatefulSet it followed on its first line, in
/// the headers' words, and judges it as `diagnose` does: no warning about it.
#[test]
fn watch_says_the_statefulset_it_followed_and_does_not_warn_about_it() {
    let c = Cluster::start("target-statefulset");
    let watch = c.spice(&["watch", "--timeout", "2s", "--interval", "500ms"]);
    assert_eq!(watch.code, 0, "{}\n{}", watch.stdout, watch.stderr);
    assert_eq!(
        watch.stdout.lines().next(),
        Some(
            "  StatefulSet spice-runner from the ScaledObject's scaleTargetRef (pods app=spice-runner)"
        ),
        "{}",
        watch.stdout
    );
    assert!(
        watch.stdout.contains("running 3"),
        "its pods are counted: {}",
        watch.stdout
    );
    assert!(
        !watch.stdout.contains("keda.scaledobject"),
        "{}",
        watch.stdout
    );
}

/// The same StatefulSet with two of its pods Pending for lack of a node: the
/// root cause is the Pending pods, named by their ordinal names, as with a
/// Deployment; the followed target is not a problem.
#[test]
fn a_statefulsets_pods_pending_for_lack_of_nodes_are_the_root_cause() {
    let c = Cluster::start("target-statefulset-pending");
    let (run, report) = diagnose(&c, &[]);
    assert_root_cause(&run, &report, "pods.pending");
    let pending = message(&report, "pods.pending");
    assert!(
        pending.starts_with("2 pods Pending")
            && pending.contains("(oldest spice-runner-2, 3m): Unschedulable"),
        "{pending}"
    );
    let evidence = check(&report, "pods.pending")["evidence"].to_string();
    assert!(evidence.contains("spice-runner-3"), "{evidence}");
    assert_outcome(&report, "keda.scaledobject", "pass");
    assert_outcome(&report, "nodes.scale-up", "fail");
    for id in ["keda.ready", "keda.active", "hpa.conditions", "hpa.metric"] {
        assert_outcome(&report, id, "pass");
    }
}

/// A StatefulSet the plugin could not read is never "followed": 404 is the
/// finding KEDA reports too (exit 1), any other failure a source not read
/// (exit 3), each said by `keda.scaledobject`.
#[test]
fn a_statefulset_target_not_found_fails_and_one_not_read_is_incomplete() {
    let c = Cluster::start("target-statefulset");
    c.sim
        .delete("apps/v1", "StatefulSet", Some("default"), "spice-runner");
    let (run, report) = diagnose(&c, &[]);
    assert_eq!(run.code, 1, "stderr: {}\n{}", run.stderr, table(&report));
    assert_outcome(&report, "keda.scaledobject", "fail");
    assert_eq!(
        message(&report, "keda.scaledobject"),
        "ScaledObject spice-runner-keda targets StatefulSet spice-runner, which does not exist in namespace default"
    );

    c.sim.inject(
        "/apis/apps/v1/namespaces/default/statefulsets/spice-runner",
        Fault::status(500),
    );
    let (run, report) = diagnose(&c, &[]);
    assert_eq!(run.code, 3, "stderr: {}\n{}", run.stderr, table(&report));
    assert_outcome(&report, "keda.scaledobject", "error");
    assert!(
        message(&report, "keda.scaledobject").starts_with(
            "ScaledObject spice-runner-keda targets StatefulSet spice-runner, but the StatefulSet could not be read: could not read statefulset"
        ),
        "{}",
        table(&report)
    );
}

/// Following scaleTargetRef costs rounds only off the default: the
/// Deployment's GET (beside the queries read again), then its pods' list.
#[test]
fn following_the_scale_target_costs_two_rounds_only_when_it_names_another_deployment() {
    let rtt = std::time::Duration::from_millis(50);
    let c = Cluster::start("target-other-deployment");
    c.sim.set_rtt(rtt);
    c.sim.reset_wire();
    let run = c.spice(&["status", "--color", "never"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(waves(&c.sim.exchanges()), 3, "{}", run.stdout);
}
