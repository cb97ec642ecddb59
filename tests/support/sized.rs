//! Scenarios grown to a given size, for the benchmarks and the tests that
//! need large lists (gzip, pagination).

use super::scenario::Scenario;

/// The healthy scenario with `pods` game pods (copies of its first one) and
/// `nodes` nodes (copies of its first one added up to that count), and as
/// many sessions as pods.
pub fn healthy(pods: usize, nodes: usize) -> Scenario {
    let mut s = Scenario::load("healthy");
    let is_game_pod = |o: &serde_json::Value| {
        o["kind"] == "Pod" && o["metadata"]["labels"]["app"] == "spice-runner"
    };
    let pod = s
        .objects
        .iter()
        .find(|o| is_game_pod(o))
        .cloned()
        .expect("a spice-runner pod");
    let node = s.of_kind("Node").next().cloned().expect("a node");
    s.objects.retain(|o| !is_game_pod(o));
    let existing_nodes = s.of_kind("Node").count();
    for i in 0..pods {
        let mut p = pod.clone();
        p["metadata"]["name"] = format!("spice-runner-7d9c8b5f4-b{i:04}").into();
        p["metadata"]["uid"] = serde_json::Value::Null;
        s.objects.push(p);
    }
    for i in existing_nodes..nodes {
        let mut n = node.clone();
        n["metadata"]["name"] = format!("ip-10-0-200-{i}.us-west-2.compute.internal").into();
        n["metadata"]["uid"] = serde_json::Value::Null;
        s.objects.push(n);
    }
    s.meta.metrics.sessions = Some(pods as f64);
    s
}
