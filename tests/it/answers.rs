//! Issue 20, items 5 and 8: answers that are valid but odd, or not what was
//! asked for, with the real binary against the simulator. One object's
//! far-future time never blinds its whole source; an answer of the wrong kind
//! is an error gap that names what came; a watch line that is no event says
//! so; a request timeout too small to be one is a usage error.

use crate::support::scenario::Scenario;
use crate::support::sim::Fault;
use crate::support::spice::Cluster;
use serde_json::{Value, json};

/// Valid RFC 3339, accepted by the API server, past what the client's time
/// type holds.
const FAR: &str = "9999-12-31T23:59:59Z";

fn gap<'a>(j: &'a Value, source: &str) -> Option<&'a Value> {
    j["gaps"]
        .as_array()
        .and_then(|g| g.iter().find(|g| g["source"] == source))
}

/// The healthy scenario with one game pod's conditions, one event, the
/// HPA's and the Deployment's conditions and the ScaledObject's creation at
/// year 9999.
fn far_future() -> Scenario {
    let mut s = Scenario::load("healthy");
    let pod = s
        .objects
        .iter_mut()
        .find(|o| o["kind"] == "Pod" && o["metadata"]["labels"]["app"] == "spice-runner")
        .expect("a game pod");
    for c in pod["status"]["conditions"]
        .as_array_mut()
        .expect("conditions")
    {
        c["lastTransitionTime"] = json!(FAR);
    }
    for o in s.objects.iter_mut() {
        match o["kind"].as_str() {
            Some("HorizontalPodAutoscaler" | "Deployment") => {
                for c in o["status"]["conditions"]
                    .as_array_mut()
                    .into_iter()
                    .flatten()
                {
                    c["lastTransitionTime"] = json!(FAR);
                }
            }
            Some("ScaledObject") => o["metadata"]["creationTimestamp"] = json!(FAR),
            _ => {}
        }
    }
    s.objects.push(json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": "from-the-future", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "spice-runner-x", "namespace": "default"},
        "reason": "Odd",
        "message": "a time from the future",
        "type": "Normal",
        "count": 1,
        "firstTimestamp": FAR,
        "lastTimestamp": FAR
    }));
    s
}

#[test]
fn a_year_9999_time_on_one_object_blinds_no_source() {
    let c = Cluster::with(far_future(), true);
    let run = c.spice(&["status", "-o", "json"]);
    let j = run.json();
    for source in ["pods", "events", "hpa", "deployment", "scaledobject"] {
        assert!(
            gap(&j, source).is_none(),
            "{source} blinded by one time: {}",
            j["gaps"]
        );
    }
    // The live view reads the same sources through its watches.
    let watch = c.spice(&[
        "watch",
        "-o",
        "json",
        "--interval",
        "500ms",
        "--timeout",
        "4s",
    ]);
    let first: Value = serde_json::from_str(watch.stdout.lines().next().unwrap_or(""))
        .unwrap_or_else(|e| panic!("no first line ({e}): {}\n{}", watch.stdout, watch.stderr));
    assert!(
        first["banner"].is_null(),
        "the watch lost a source: {}",
        first["banner"]
    );
    assert_eq!(first["runningPods"], 3, "{first}");
}

/// `status -o json` with `path` answered by an empty list of `kind`: the
/// error gap of `source`, whose message is returned.
fn wrong_kind_gap(path: &str, kind: &str, source: &str) -> String {
    let c = Cluster::start("healthy");
    let body = format!(
        r#"{{"kind":"{kind}","apiVersion":"v1","metadata":{{"resourceVersion":"1"}},"items":[]}}"#
    );
    c.sim
        .inject(path, Fault::raw(200, "application/json", body));
    let j = c.spice(&["status", "-o", "json"]).json();
    let gap = gap(&j, source).unwrap_or_else(|| panic!("no gap: {}", j["gaps"]));
    assert_eq!(gap["reason"], "error", "{gap}");
    gap["message"].as_str().unwrap_or("").to_string()
}

#[test]
fn a_scaled_object_get_answered_with_a_pod_list_is_an_error_gap_naming_it() {
    let message = wrong_kind_gap(
        "/apis/keda.sh/v1alpha1/namespaces/default/scaledobjects/",
        "PodList",
        "scaledobject",
    );
    assert!(
        message.contains("ScaledObject") && message.contains("PodList"),
        "{message}"
    );
}

#[test]
fn a_pod_list_answered_with_another_kind_is_an_error_gap_not_zero_pods() {
    let message = wrong_kind_gap("/api/v1/namespaces/default/pods?", "EventList", "pods");
    assert!(
        message.contains("PodList") && message.contains("EventList"),
        "{message}"
    );
}

#[test]
fn a_watch_line_that_is_no_event_says_so_not_http_0() {
    let c = Cluster::start("healthy");
    c.sim.inject(
        "/api/v1/namespaces/default/pods?",
        Fault::raw(
            200,
            "application/json",
            "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":5}}}\n",
        )
        .when_query("watch=true"),
    );
    let run = c.spice(&[
        "watch",
        "-o",
        "json",
        "--interval",
        "500ms",
        "--timeout",
        "4s",
    ]);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(!all.contains("HTTP 0"), "{all}");
    assert!(
        all.contains("pods: the server sent a watch event that could not be read"),
        "{all}"
    );
}

#[test]
fn a_request_timeout_that_rounds_to_zero_is_out_of_range_not_the_default() {
    let c = Cluster::start("healthy");
    let run = c.spice(&["status", "--request-timeout", "0.0000000001s"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stderr);
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains("out of range"),
        "{}",
        run.stderr
    );
}
