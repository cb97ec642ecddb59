//! The settings table: every setting defined once, with its key, flag,
//! default and doc, and the `SPICE_*` environment name derived from the key.

/// One setting, defined once: its config-file key (dotted when nested),
/// its command-line flag if it has one, its default and its doc. The
/// `SPICE_*` environment name is derived from the key ([`env_name`]). This
/// table drives the environment lookup, the config file's known keys,
/// `config view`, the flag precedence and the tests that keep the clap flags
/// and the README in step with it.
#[derive(Debug, Clone, Copy)]
pub struct SettingDef {
    pub key: &'static str,
    pub flag: Option<&'static str>,
    pub default: Option<&'static str>,
    pub doc: &'static str,
}

impl SettingDef {
    /// The environment variable that sets it: `SPICE_` + the key in upper snake case.
    pub fn env(&self) -> String {
        env_name(self.key)
    }
}

const fn def(
    key: &'static str,
    flag: Option<&'static str>,
    default: Option<&'static str>,
    doc: &'static str,
) -> SettingDef {
    SettingDef {
        key,
        flag,
        default,
        doc,
    }
}

/// Every setting, in the order `config view` lists them.
pub const SETTINGS: &[SettingDef] = &[
    def(
        "namespace",
        Some("--namespace"),
        Some("default"),
        "namespace of the game (else the context's, else default)",
    ),
    def(
        "selector",
        Some("--selector"),
        Some("app=spice-runner"),
        "label selector of the game pods",
    ),
    def(
        "deployment",
        Some("--deployment"),
        Some("spice-runner"),
        "Deployment that KEDA scales",
    ),
    def(
        "scaledObject",
        Some("--scaled-object"),
        Some("spice-runner-keda"),
        "KEDA ScaledObject",
    ),
    def(
        "nginxService",
        Some("--nginx-service"),
        Some("spice-runner-nginx"),
        "`service` label of nginx_http_requests_total",
    ),
    def(
        "prometheusService",
        Some("--prometheus-service"),
        Some("observability/prometheus:9090"),
        "Prometheus via the API server's service proxy (NS/SVC:PORT)",
    ),
    def(
        "prometheusUrl",
        Some("--prometheus-url"),
        None,
        "direct Prometheus URL (instead of the service proxy)",
    ),
    def(
        "prometheusTenant",
        Some("--prometheus-tenant"),
        None,
        "Prometheus tenant (X-Scope-OrgID) for Mimir, Cortex or Thanos receive (else the trigger's customHeaders)",
    ),
    def(
        "grafanaService",
        None,
        Some("observability/grafana:3000"),
        "Grafana (NS/SVC:PORT)",
    ),
    def(
        "lokiService",
        None,
        Some("observability/loki:3100"),
        "Loki via the service proxy (NS/SVC:PORT)",
    ),
    def("lokiUrl", Some("--loki-url"), None, "direct Loki URL"),
    def(
        "lokiQuery",
        None,
        Some("{job=\"faro\"} | logfmt | event_name=\"game_session_heartbeat\""),
        "LogQL selecting heartbeat events",
    ),
    def(
        "lokiTenant",
        Some("--loki-tenant"),
        None,
        "Loki tenant (X-Scope-OrgID) for a multi-tenant Loki",
    ),
    def(
        "kedaNamespace",
        Some("--keda-namespace"),
        Some("keda"),
        "namespace of the KEDA operator",
    ),
    def(
        "kedaOperatorSelector",
        None,
        Some("app.kubernetes.io/name=keda-operator"),
        "label selector of the KEDA operator pods",
    ),
    def(
        "kedaMetricsApiserverSelector",
        None,
        Some("app.kubernetes.io/name=keda-operator-metrics-apiserver"),
        "label selector of KEDA's metrics API server pods",
    ),
    def(
        "karpenterNamespace",
        None,
        None,
        "namespace of Karpenter's controller (else kube-system, then karpenter)",
    ),
    def(
        "sidecarContainer",
        None,
        Some("alloy"),
        "name of the telemetry sidecar container",
    ),
    def(
        "requestTimeout",
        Some("--request-timeout"),
        Some("10s"),
        "time limit of each read, 100ms to 1h (0 = 10s)",
    ),
    def(
        "color",
        Some("--color"),
        Some("auto"),
        "auto, always or never",
    ),
    def(
        "silence",
        None,
        Some(""),
        "check ids or globs shown as skipped (comma-separated)",
    ),
    def(
        "ratio.greenMin",
        None,
        Some("0.8"),
        "sessions per pod: lower end of green",
    ),
    def(
        "ratio.greenMax",
        None,
        Some("1.2"),
        "sessions per pod: upper end of green",
    ),
    def(
        "ratio.yellowMin",
        None,
        Some("0.5"),
        "sessions per pod: lower end of yellow",
    ),
    def(
        "ratio.yellowMax",
        None,
        Some("1.5"),
        "sessions per pod: upper end of yellow",
    ),
    def(
        "targets.scaleUp",
        None,
        Some("30s"),
        "scale-up target, 1s to 1h",
    ),
    def(
        "targets.scaleDown",
        None,
        Some("60s"),
        "scale-down target, 1s to 1h",
    ),
    def(
        "targets.podSuccessRate",
        None,
        Some("0.99"),
        "fraction of pods that must be Running",
    ),
    def(
        "targets.heartbeatPerSession",
        None,
        Some("0.2"),
        "heartbeat events per second per session",
    ),
];

/// `SPICE_` + the key in upper snake case: `ratio.greenMin` → `SPICE_RATIO_GREEN_MIN`.
pub fn env_name(key: &str) -> String {
    let mut out = String::from("SPICE_");
    for ch in key.chars() {
        if ch == '.' {
            out.push('_');
        } else if ch.is_ascii_uppercase() {
            out.push('_');
            out.push(ch);
        } else {
            out.push(ch.to_ascii_uppercase());
        }
    }
    out
}
