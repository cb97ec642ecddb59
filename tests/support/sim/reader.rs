//! Read access to the simulator's store for support code that renders from
//! the cluster's state at request time, as a component watching the API
//! server would see it (the kube-state-metrics stand-in, `support::ksm`).

use super::{Shared, Sim};
use serde_json::Value;
use std::sync::Arc;

/// A cheap handle on the store of a running [`Sim`]; it keeps the store
/// alive, not the server.
#[derive(Clone)]
pub struct StoreReader(Arc<Shared>);

impl StoreReader {
    /// Every stored object of one resource, `(group, plural)` as the REST
    /// path names it (`("", "pods")`, `("apps", "deployments")`), in all
    /// namespaces, in the order a list returns them.
    pub fn list(&self, group: &'static str, plural: &'static str) -> Vec<Value> {
        let store = self.0.store.lock().unwrap_or_else(|e| e.into_inner());
        store.list((group, plural), None).cloned().collect()
    }
}

impl Sim {
    /// A reader of this simulator's objects.
    pub fn store_reader(&self) -> StoreReader {
        StoreReader(self.shared.clone())
    }
}
