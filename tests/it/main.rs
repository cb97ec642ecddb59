//! The one integration-test binary: every test here runs real components
//! (the built `kubectl-spice`, the cluster simulator, Prometheus, kubectl).

#[path = "../support/mod.rs"]
mod support;

mod alerts;
mod answers;
mod auth;
mod bombs;
mod by_hand;
mod clients;
mod colour;
mod completion;
mod dashboard;
mod diagnose;
mod discovery;
mod edges;
mod evidence;
mod explain_runbook;
mod harness;
mod hints;
mod history;
mod history_cost;
mod hostile;
mod hpa_name;
mod install_shapes;
mod keda_versions;
mod krew;
mod ksm;
mod kubectl;
mod layers;
mod loadtest;
mod man;
mod node_autoscalers;
mod numbers;
mod payload;
mod readme_samples;
mod readme_text;
mod real_clusters;
mod recording;
mod release;
mod replay;
mod restore;
mod scale_target_write;
mod scaling_model;
mod scrape_spacing;
mod sim;
mod statefulset_policy;
mod status;
mod version;
mod versions;
mod watch;
mod watch_layout;
mod watch_view;
mod wire;
