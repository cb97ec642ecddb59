//! Typed values the cluster reports as strings: pod phases, container states
//! and the sources a gap names. Each serialises as exactly the string the
//! Snapshot has always held, so saved snapshots and `-o json` do not change.
//!
//! The cluster is untrusted and newer Kubernetes versions add values, so every
//! enum keeps what it does not know in `Other` instead of failing to read the
//! snapshot. `From<&str>` is the one way in: it never builds `Other` for a
//! known string, so comparing variants is comparing the strings.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Declares a string-backed enum: its variants, their exact strings, and the
/// conversions and comparisons every such enum needs. Comparing with a `&str`
/// is kept so code that matched on strings reads the same while it moves over.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(from = "String", into = "String")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// A value this version does not know, kept as it was read.
            Other(String),
        }

        impl $name {
            /// The string Kubernetes (or the Snapshot) uses for it.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)*
                    $name::Other(s) => s,
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> $name {
                match s {
                    $($text => $name::$variant,)*
                    other => $name::Other(other.to_string()),
                }
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> $name {
                $name::from(s.as_str())
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                match v {
                    $name::Other(s) => s,
                    known => known.as_str().to_string(),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl Default for $name {
            fn default() -> $name {
                $name::from("")
            }
        }

        /// Ordered by their strings, as they were sorted before they were typed.
        impl Ord for $name {
            fn cmp(&self, other: &$name) -> std::cmp::Ordering {
                self.as_str().cmp(other.as_str())
            }
        }

        impl PartialOrd for $name {
            fn partial_cmp(&self, other: &$name) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }
    };
}

string_enum! {
    /// A pod's `status.phase` (k8s.io/api core/v1 `PodPhase`).
    PodPhase {
        Pending = "Pending",
        Running = "Running",
        Succeeded = "Succeeded",
        Failed = "Failed",
        Unknown = "Unknown",
        /// The API server reported no phase yet.
        Unset = "",
    }
}

impl PodPhase {
    /// The phase as kubectl shows it: `Unknown` when the API had none yet.
    pub fn shown(&self) -> &str {
        match self {
            PodPhase::Unset => "Unknown",
            known => known.as_str(),
        }
    }
}

string_enum! {
    /// Which of a container's `state` fields is set.
    ContainerState {
        Running = "running",
        Waiting = "waiting",
        Terminated = "terminated",
        /// The container has no status yet.
        Unknown = "unknown",
    }
}

string_enum! {
    /// The source a gap names: one read of the collect step.
    GapSource {
        Discovery = "discovery",
        Pods = "pods",
        Deployment = "deployment",
        ScaledObject = "scaledobject",
        Hpa = "hpa",
        Nodes = "nodes",
        NodePools = "nodepools",
        NodeClaims = "nodeclaims",
        Events = "events",
        KarpenterEvents = "karpenter-events",
        KedaOperator = "keda-operator",
        KedaOperatorLogs = "keda-operator-logs",
        KedaMetricsApiserver = "keda-metrics-apiserver",
        Prometheus = "prometheus",
        PrometheusRules = "prometheus-rules",
        Loki = "loki",
        ClusterAutoscalerStatus = "cluster-autoscaler-status",
        KarpenterPods = "karpenter-pods",
        /// The StatefulSet the ScaledObject's scaleTargetRef names.
        StatefulSet = "statefulset",
        /// No source named (only ever a default).
        Unnamed = "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_strings_become_variants_and_round_trip_through_json() {
        assert_eq!(PodPhase::from("Running"), PodPhase::Running);
        assert_eq!(PodPhase::from(""), PodPhase::Unset);
        assert_eq!(ContainerState::from("waiting"), ContainerState::Waiting);
        assert_eq!(GapSource::from("scaledobject"), GapSource::ScaledObject);
        for phase in ["Pending", "Running", "Succeeded", "Failed", "Unknown", ""] {
            let json = serde_json::to_string(&PodPhase::from(phase)).unwrap();
            assert_eq!(json, format!("\"{phase}\""));
            let back: PodPhase = serde_json::from_str(&json).unwrap();
            assert_eq!(back, phase);
        }
    }

    #[test]
    fn unknown_strings_are_kept_not_rejected() {
        let phase: PodPhase = serde_json::from_str("\"Evicted\"").unwrap();
        assert_eq!(phase, PodPhase::Other("Evicted".into()));
        assert_eq!(serde_json::to_string(&phase).unwrap(), "\"Evicted\"");
        assert_ne!(phase, PodPhase::Running);
        assert_eq!(GapSource::from("grafana").to_string(), "grafana");
    }

    #[test]
    fn order_follows_the_strings() {
        let mut sources = vec![GapSource::Prometheus, GapSource::Hpa, GapSource::Loki];
        sources.sort();
        assert_eq!(
            sources,
            [GapSource::Hpa, GapSource::Loki, GapSource::Prometheus]
        );
    }
}
