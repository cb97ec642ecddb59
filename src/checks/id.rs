//! Typed names: check ids, the areas they belong to, and the runbook's
//! symptoms. The strings are a contract (JSON output, `--only/--skip` globs,
//! `silence:` in the config file, `explain`, junit names), so each id's string
//! is written exactly once, here, and every other place compares enums.

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// The areas of the report, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Area {
    Keda,
    Hpa,
    Pods,
    Prometheus,
    Sessions,
    Nodes,
    Loki,
    Alerts,
}

impl Area {
    pub const ALL: [Area; 8] = [
        Area::Keda,
        Area::Hpa,
        Area::Pods,
        Area::Prometheus,
        Area::Sessions,
        Area::Nodes,
        Area::Loki,
        Area::Alerts,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Area::Keda => "KEDA",
            Area::Hpa => "HPA",
            Area::Pods => "Pods",
            Area::Prometheus => "Prometheus",
            Area::Sessions => "Sessions",
            Area::Nodes => "Nodes",
            Area::Loki => "Loki",
            Area::Alerts => "Alerts",
        }
    }
}

/// Declares `CheckId` with each variant's dotted string and area in one row,
/// so the string, the variant and the area cannot drift apart.
macro_rules! check_ids {
    ($($variant:ident = $name:literal in $area:ident,)*) => {
        /// Every check's id. `Display` and `FromStr` use the dotted string.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum CheckId {
            $($variant,)*
        }

        impl CheckId {
            /// Every id, in declaration order (the registry decides chain order).
            pub const ALL: &'static [CheckId] = &[$(CheckId::$variant,)*];

            /// The dotted `area.problem` string users type and scripts read.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(CheckId::$variant => $name,)*
                }
            }

            pub const fn area(self) -> Area {
                match self {
                    $(CheckId::$variant => Area::$area,)*
                }
            }
        }
    };
}

check_ids! {
    PrometheusReachable = "prometheus.reachable" in Prometheus,
    PrometheusNginxMetric = "prometheus.nginx-metric" in Prometheus,
    PrometheusKubeStateMetrics = "prometheus.kube-state-metrics" in Prometheus,
    KedaInstalled = "keda.installed" in Keda,
    KedaScaledobject = "keda.scaledobject" in Keda,
    KedaReady = "keda.ready" in Keda,
    KedaPaused = "keda.paused" in Keda,
    KedaTrigger = "keda.trigger" in Keda,
    KedaOperator = "keda.operator" in Keda,
    KedaMetricsApiserver = "keda.metrics-apiserver" in Keda,
    KedaOperatorLogs = "keda.operator-logs" in Keda,
    KedaEvents = "keda.events" in Keda,
    KedaActive = "keda.active" in Keda,
    KedaFallback = "keda.fallback" in Keda,
    KedaMinReplicas = "keda.min-replicas" in Keda,
    KedaMaxReplicas = "keda.max-replicas" in Keda,
    KedaActivationThreshold = "keda.activation-threshold" in Keda,
    KedaPollingInterval = "keda.polling-interval" in Keda,
    KedaCooldown = "keda.cooldown" in Keda,
    HpaExists = "hpa.exists" in Hpa,
    HpaConditions = "hpa.conditions" in Hpa,
    HpaMetric = "hpa.metric" in Hpa,
    PodsCrashloop = "pods.crashloop" in Pods,
    PodsPending = "pods.pending" in Pods,
    PodsSuccessRate = "pods.success-rate" in Pods,
    PodsStartup = "pods.startup" in Pods,
    PodsSidecar = "pods.sidecar" in Pods,
    NodesReady = "nodes.ready" in Nodes,
    NodesScaleUp = "nodes.scale-up" in Nodes,
    NodesScaleDown = "nodes.scale-down" in Nodes,
    SessionsRatio = "sessions.ratio" in Sessions,
    SessionsFlapping = "sessions.flapping" in Sessions,
    SessionsTraffic = "sessions.traffic" in Sessions,
    LokiReachable = "loki.reachable" in Loki,
    LokiHeartbeats = "loki.heartbeats" in Loki,
    LokiZombies = "loki.zombies" in Loki,
    AlertsPodSessionRatio = "alerts.pod-session-ratio" in Alerts,
    AlertsKedaNotResponding = "alerts.keda-not-responding" in Alerts,
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownCheck(pub String);

impl fmt::Display for UnknownCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no check named {:?}", self.0)
    }
}

impl std::error::Error for UnknownCheck {}

impl FromStr for CheckId {
    type Err = UnknownCheck;

    fn from_str(s: &str) -> Result<CheckId, UnknownCheck> {
        CheckId::ALL
            .iter()
            .copied()
            .find(|id| id.as_str() == s)
            .ok_or_else(|| UnknownCheck(s.to_string()))
    }
}

impl Serialize for CheckId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The runbook's troubleshooting trees (`diagnose --symptom`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Symptom {
    NoScaleUp,
    NoScaleDown,
    TooFast,
    TooSlow,
}

impl Symptom {
    pub const ALL: [Symptom; 4] = [
        Symptom::NoScaleUp,
        Symptom::NoScaleDown,
        Symptom::TooFast,
        Symptom::TooSlow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Symptom::NoScaleUp => "no-scale-up",
            Symptom::NoScaleDown => "no-scale-down",
            Symptom::TooFast => "too-fast",
            Symptom::TooSlow => "too-slow",
        }
    }
}

impl fmt::Display for Symptom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Symptom {
    type Err = String;

    fn from_str(s: &str) -> Result<Symptom, String> {
        Symptom::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| format!("no symptom named {s:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_round_trips_through_its_string_and_names_its_area() {
        for id in CheckId::ALL {
            assert_eq!(id.to_string().parse::<CheckId>(), Ok(*id));
            let (area, problem) = id.as_str().split_once('.').expect("area.problem");
            assert!(!problem.is_empty(), "{id}");
            assert_eq!(
                area,
                format!("{:?}", id.area()).to_ascii_lowercase(),
                "{id}"
            );
        }
        assert_eq!(
            "keda.Ready".parse::<CheckId>(),
            Err(UnknownCheck("keda.Ready".into()))
        );
        assert_eq!(
            serde_json::to_string(&CheckId::KedaMetricsApiserver).expect("json"),
            "\"keda.metrics-apiserver\""
        );
    }

    #[test]
    fn symptoms_round_trip() {
        for s in Symptom::ALL {
            assert_eq!(s.as_str().parse::<Symptom>(), Ok(s));
        }
        assert!("slow".parse::<Symptom>().is_err());
    }
}
