//! The closed loop: a simulated cluster with the real metrics pipeline
//! (nginx, exporter, Prometheus) behind its service proxy and the
//! simulator's controller playing KEDA, the HPA, the scheduler, the kubelet
//! and Karpenter from that Prometheus. Prometheus also scrapes a
//! kube-state-metrics stand-in rendering the simulator's objects
//! (`support::ksm`), as on a cluster. `tests/it/loadtest.rs` tests
//! `kubectl spice test` on it; `tests/it/by_hand.rs` serves it by hand.
//!
//! Timings are scaled down (a 2 s polling interval, a 3 s cooldown, a 4 s
//! scrape) so a scale-up takes seconds; what is measured is real.

use super::ksm::Ksm;
use super::pipeline::{Pipeline, RATE_QUERY};
use super::scenario::Scenario;
use super::sim::{Controller, Timings};
use super::spice::Cluster;
use kubectl_spice::domain::promql;
use kubectl_spice::settings::Settings;
use serde_json::Value;
use std::time::{Duration, Instant};

/// How often Prometheus scrapes the exporter here. Each scrape is one request
/// to nginx, 0.25 req/s on top of the sessions.
pub const SCRAPE: &str = "4s";
/// The test ScaledObject's trigger query: the runbook's, over a window short
/// enough for the scaled-down test, minus the exporter's own scrape requests
/// (in production a 15–30 s scrape adds too little to matter).
pub const TRIGGER: &str =
    r#"sum(rate(nginx_http_requests_total{service="spice-runner-nginx"}[12s])) - 0.25"#;

/// A simulated cluster with the real metrics pipeline and the controller.
pub struct ClosedLoop {
    // Field order is drop order: the controller stops before Prometheus,
    // Prometheus before kube-state-metrics and the simulator it reads.
    pub controller: Option<Controller>,
    pub pipeline: Pipeline,
    pub ksm: Ksm,
    pub c: Cluster,
}

/// Prometheus has scraped kube-state-metrics: the pod phase series exist.
pub const KSM_QUERY: &str = "count(kube_pod_status_phase)";

/// The `idle` scenario (0 pods), its ScaledObject tuned for the loop.
pub fn scenario(paused: bool) -> Scenario {
    let mut s = Scenario::load("idle");
    for so in s.objects.iter_mut().filter(|o| o["kind"] == "ScaledObject") {
        so["spec"]["pollingInterval"] = 2.into();
        so["spec"]["cooldownPeriod"] = 3.into();
        so["spec"]["triggers"][0]["metadata"]["query"] = TRIGGER.into();
        if paused {
            // As `kubectl annotate scaledobject spice-runner-keda autoscaling.keda.sh/paused=true`
            // leaves it (keda v2.19 apis/keda/v1alpha1/scaledobject_types.go: PausedAnnotation).
            so["metadata"]["annotations"]["autoscaling.keda.sh/paused"] = "true".into();
        }
    }
    s
}

/// A game pod as `kubectl get -o yaml` prints it, from the healthy scenario.
pub fn pod_template() -> Value {
    Scenario::load("healthy")
        .of_kind("Pod")
        .find(|p| p["metadata"]["labels"]["app"] == "spice-runner")
        .cloned()
        .expect("a game pod in the healthy scenario")
}

/// The nginx Service's Endpoints as the endpoints controller writes them:
/// one ready address when `ready`, else one not ready (its pod failing readiness).
pub fn nginx_endpoints(ready: bool) -> Value {
    let key = if ready {
        "addresses"
    } else {
        "notReadyAddresses"
    };
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "spice-runner-nginx", "namespace": "default"},
        "subsets": [{key: [{"ip": "10.0.1.20"}], "ports": [{"port": 80, "protocol": "TCP"}]}],
    })
}

/// Whether everything the plugin reads is there: a request rate (two
/// scrapes), kube-state-metrics' series, and the nginx samples the scrape
/// spacing is measured from (the plugin's own query answers: three
/// samples, the last one inside its 1 s subquery step). `Err` says what is
/// missing yet, or why Prometheus could not tell.
pub fn ready(lab: &ClosedLoop) -> Result<(), String> {
    let prom = lab.pipeline.prom();
    if prom.try_value(RATE_QUERY)?.is_none() {
        return Err("no nginx request rate yet (two scrapes)".into());
    }
    if !prom.try_value(KSM_QUERY)?.is_some_and(|n| n > 0.0) {
        return Err("no kube-state-metrics series yet".into());
    }
    let spacing = promql::nginx_samples_5m(&Settings::defaults()).promql;
    if prom.try_value(&spacing)?.is_none() {
        return Err("the scrape spacing is not measured yet (three nginx samples)".into());
    }
    Ok(())
}

impl ClosedLoop {
    /// The loop with `background` sessions, and the nginx Service's ready
    /// endpoints behind the service proxy (`nginx`), or none: then the proxy
    /// answers the API server's real 503. Returns once Prometheus has a
    /// request rate (two scrapes), so the game's load can be told.
    pub fn start(
        scenario: Scenario,
        background: usize,
        timings: Option<Timings>,
        nginx: bool,
    ) -> ClosedLoop {
        let lab = Self::start_now(scenario, background, timings, nginx);
        // rate() needs two scrapes: until then the game's load cannot be told.
        let deadline = Instant::now() + Duration::from_secs(20);
        while lab.pipeline.prom().value(RATE_QUERY).is_none() {
            assert!(
                Instant::now() < deadline,
                "no nginx request rate after 20 s"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
        lab
    }

    /// The same, returning as soon as everything listens (the controller
    /// reads no rate as no load until Prometheus has one).
    pub fn start_now(
        scenario: Scenario,
        background: usize,
        timings: Option<Timings>,
        nginx: bool,
    ) -> ClosedLoop {
        let c = Cluster::with(scenario, false);
        let ksm = Ksm::serve(c.sim.store_reader());
        let pipeline = Pipeline::start_with_jobs(background, SCRAPE, &ksm.scrape_job(SCRAPE));
        c.sim.set_proxy_upstream(
            "observability",
            "prometheus",
            "9090",
            &pipeline.prometheus_url(),
        );
        if nginx {
            c.sim
                .set_proxy_upstream("default", "spice-runner-nginx", "80", &pipeline.nginx_url());
        }
        c.sim.apply(nginx_endpoints(nginx));
        let controller = timings.map(|t| {
            c.sim
                .start_controller(pipeline.prom().port(), pod_template(), t)
        });
        ClosedLoop {
            controller,
            pipeline,
            ksm,
            c,
        }
    }
}
