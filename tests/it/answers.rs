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

/// The healthy scenario with one game pod's conditions and one event at
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
fn a_year_9999_time_on_one_pod_or_event_blinds_neither_source() {
    let c = Cluster::with(far_future(), true);
    let run = c.spice(&["status", "-o", "json"]);
    let j = run.json();
    for source in ["pods", "events"] {
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
