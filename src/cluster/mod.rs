//! The only code that talks to a network: the API server, Prometheus (and
//! later Loki). Everything it reads lands in a `Snapshot`.

pub mod auth;
pub mod bounded;
pub mod build;
pub mod client;
pub mod collect;
pub mod convert;
pub mod discover;
pub mod error;
pub mod folded;
pub mod history;
pub mod kubeconfig;
pub mod lenient;
pub mod lists;
pub mod live;
pub mod load;
pub mod loki;
pub mod nginx;
pub mod operator_first;
pub mod prometheus;
pub mod proxy;
pub mod range;
pub mod remember;
pub mod start;
pub mod target;
pub mod tls;
pub mod transport;
pub mod wire;
/// The PromQL builders' old path, kept while other branches still import it.
pub use crate::domain::promql;

pub use error::Error;
