//! Values the cluster gave for keys left at their default (issue 19 item 6:
//! the game's Deployment and pod selector from the ScaledObject's
//! scaleTargetRef). A value given by the user is never replaced.

use super::{Settings, Source};

/// How the game pods are named, for the PromQL that counts them
/// (kube-state-metrics has no label selector, only pod names).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PodNames {
    /// `<deployment>-<pod-template-hash>-<suffix>`: the Deployment's ReplicaSets.
    #[default]
    ReplicaSet,
    /// `<name>-<ordinal>`: the pods of StatefulSet `name`, which KEDA scales.
    StatefulSet(String),
}

impl Settings {
    /// Takes `value` for `key` when the key was not given, recording `what`
    /// said so as its source (`config view` shows it). Only the keys the
    /// cluster can decide this way are taken, each validated as the key's
    /// own values are; anything else, or an invalid value, changes nothing.
    /// Returns whether the value was taken.
    pub fn take_discovered(&mut self, key: &str, value: &str, what: &str) -> bool {
        if self.is_set(key) {
            return false;
        }
        match key {
            "deployment" if super::values::is_dns_name(value) => {
                self.deployment = value.to_string()
            }
            "selector" if super::validate_selector(value).is_ok() => {
                self.selector = value.to_string()
            }
            _ => return false,
        }
        if let Some(e) = self.effective.iter_mut().find(|e| e.key == key) {
            e.value = Some(value.to_string());
            e.source = Source::Discovered(what.to_string());
        }
        true
    }

    /// The workload whose pods are the game's, as a fix names it: the
    /// StatefulSet KEDA scales when it was followed, else the Deployment.
    pub fn workload(&self) -> String {
        match &self.pod_names {
            PodNames::StatefulSet(name) => format!("StatefulSet {name}"),
            PodNames::ReplicaSet => format!("Deployment {}", self.deployment),
        }
    }

    /// Its name alone, as the headers of `status` and `diagnose` start.
    pub fn workload_name(&self) -> &str {
        match &self.pod_names {
            PodNames::StatefulSet(name) => name,
            PodNames::ReplicaSet => &self.deployment,
        }
    }

    /// KEDA scales StatefulSet `name`: its pods are `<name>-<ordinal>`.
    /// An invalid name (from a snapshot file) changes nothing.
    pub fn follow_statefulset(&mut self, name: &str) -> bool {
        if !super::values::is_dns_name(name) {
            return false;
        }
        self.pod_names = PodNames::StatefulSet(name.to_string());
        true
    }

    /// KEDA's HPA for the ScaledObject is `name` (its `status.hpaName`, or
    /// `spec.advanced.horizontalPodAutoscalerConfig.name`: kedacore/keda
    /// v2.20.2 `controllers/keda/hpa.go` `getHPAName`): the queries and
    /// alert rules that name the HPA use it. An invalid name (from a
    /// snapshot file, a hostile object) changes nothing. Returns whether
    /// the name differs from KEDA's default now.
    pub fn follow_hpa_name(&mut self, name: &str) -> bool {
        if !super::values::is_dns_name(name) {
            return false;
        }
        self.hpa_name = (name != self.default_hpa_name()).then(|| name.to_string());
        self.hpa_name.is_some()
    }

    /// The HPA KEDA made for the ScaledObject, as kube-state-metrics
    /// labels it (`horizontalpodautoscaler`): the one the cluster named,
    /// else KEDA's default `keda-hpa-<scaledObject>`.
    pub fn keda_hpa_name(&self) -> String {
        self.hpa_name
            .clone()
            .unwrap_or_else(|| self.default_hpa_name())
    }

    /// KEDA's name for the HPA of a ScaledObject that names none.
    pub fn default_hpa_name(&self) -> String {
        format!("keda-hpa-{}", self.scaled_object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hpa_name_the_cluster_gives_is_used_and_the_default_or_junk_is_not_kept() {
        let mut s = Settings::defaults();
        assert_eq!(s.keda_hpa_name(), "keda-hpa-spice-runner-keda");
        assert!(s.follow_hpa_name("spice-game-hpa"));
        assert_eq!(s.keda_hpa_name(), "spice-game-hpa");
        for junk in ["", "Spice\u{1b}[31m", "a\"b", "x y"] {
            assert!(!s.follow_hpa_name(junk), "{junk:?}");
            assert_eq!(s.keda_hpa_name(), "spice-game-hpa", "{junk:?}");
        }
        assert!(!s.follow_hpa_name("keda-hpa-spice-runner-keda"));
        assert_eq!(s.hpa_name, None, "the default is not kept as found");
        assert_eq!(s.keda_hpa_name(), "keda-hpa-spice-runner-keda");
    }

    #[test]
    fn a_discovered_value_replaces_a_default_but_never_a_given_value_or_junk() {
        let mut s = Settings::defaults();
        assert!(s.take_discovered("deployment", "spice-game", "ScaledObject scaleTargetRef"));
        assert!(s.take_discovered("selector", "app.kubernetes.io/name=spice-game", "x"));
        assert_eq!(s.deployment, "spice-game");
        assert_eq!(s.selector, "app.kubernetes.io/name=spice-game");
        let row = s.effective.iter().find(|e| e.key == "deployment").unwrap();
        assert_eq!(
            row.source,
            Source::Discovered("ScaledObject scaleTargetRef".into())
        );
        // A discovered value is not one the user gave.
        assert!(!s.is_set("deployment"));

        let mut s = Settings::defaults();
        assert!(!s.take_discovered("deployment", "Bad\u{1b}[31m", "x"));
        assert!(!s.take_discovered("selector", "app=a;rm", "x"));
        assert!(!s.take_discovered("namespace", "other", "x"));
        assert_eq!(s.deployment, "spice-runner");
        assert_eq!(s.selector, "app=spice-runner");

        for e in s.effective.iter_mut().filter(|e| e.key == "deployment") {
            e.source = Source::Flag("--deployment".into());
        }
        assert!(!s.take_discovered("deployment", "spice-game", "x"));
        assert_eq!(s.deployment, "spice-runner");
    }

    /// Headers and fixes name the workload whose pods are the game's: the
    /// StatefulSet followed, never the configured Deployment it replaced.
    #[test]
    fn the_workload_named_is_the_statefulset_followed_else_the_deployment() {
        let mut s = Settings::defaults();
        assert_eq!(s.workload(), "Deployment spice-runner");
        assert_eq!(s.workload_name(), "spice-runner");
        assert!(s.follow_statefulset("spice-game"));
        assert_eq!(s.workload(), "StatefulSet spice-game");
        assert_eq!(s.workload_name(), "spice-game");
        assert!(!s.follow_statefulset("Bad\u{1b}"));
        assert_eq!(s.workload_name(), "spice-game");
    }
}
