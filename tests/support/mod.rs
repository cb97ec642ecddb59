//! Test support shared by the integration tests and the benchmarks: the
//! cluster simulator, the Prometheus / nginx harness and scenario files.
#![allow(dead_code)]

pub mod closed_loop;
pub mod delay;
pub mod ksm;
pub mod loki;
pub mod pipeline;
pub mod procfs;
pub mod prom;
pub mod scenario;
pub mod sim;
pub mod spice;
pub mod tenant;
pub mod tmux;
