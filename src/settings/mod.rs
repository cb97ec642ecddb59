//! Every name and number the runbook hard-codes, as settings with the
//! runbook's value as default. Precedence: flags > `SPICE_*` environment >
//! config file (its per-context section first) > the kube context (namespace
//! only) > defaults. Each value remembers where it came from, which
//! `kubectl spice config view` prints.

mod discovered;
mod duration;
mod env;
mod file;
mod table;
mod values;

pub use duration::{
    DurationRange, REQUEST_TIMEOUT_RANGE, TARGET_RANGE, parse_duration, show_duration,
};
pub use env::{redact_url, redact_url_if_url, token_may_travel_to};
pub use file::{ConfigFile, home_dir};

/// The 1-based line where `key` (dotted: its last part) is written in a
/// config file's text, for `config view`'s `file PATH:LINE`.
pub fn file_line(file: &ConfigFile, key: &str) -> Option<usize> {
    file::line_of(&file.text, key.rsplit('.').next().unwrap_or(key), 1)
}
pub use discovered::PodNames;
pub use table::{SETTINGS, SettingDef, env_name};
pub use values::{valid_tenant, validate_selector};

use serde::{Deserialize, Serialize};
use std::time::Duration;
use values::Values;

/// `--color`: decided once into the report's styles. Defined here, where
/// the `color` setting is read; clap parses it from the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// A settings error: always names the key and, for the config file, the file and line.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{file}: {message}")]
    File { file: String, message: String },
    #[error("{source_name}: {key}: {message}")]
    Value {
        source_name: String,
        key: String,
        message: String,
    },
    #[error(
        "refusing to send {var} over plain HTTP to {url}: anyone on the network path could read it"
    )]
    PlainHttpToken { var: &'static str, url: String },
}

impl SettingsError {
    pub fn hint(&self) -> &'static str {
        match self {
            SettingsError::PlainHttpToken { .. } => {
                "use an https:// URL, or a port-forward to localhost (loopback may use http://)"
            }
            // Not `config view`: it reads the same value and fails the same way.
            SettingsError::Value { .. } => {
                "write the value in the form shown, where the error says it is set (file and line, flag or environment variable)"
            }
            _ => {
                "fix that line of the file; every key with its default and form: kubectl spice config view --config /dev/null"
            }
        }
    }
}

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind", content = "from")]
pub enum Source {
    Flag(String),
    Env(String),
    File(String),
    KubeContext(String),
    /// Found in the cluster (`config view --discover`): what said so.
    Discovered(String),
    Default,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Flag(flag) => write!(f, "flag {flag}"),
            Source::Env(var) => write!(f, "env {var}"),
            Source::File(path) => write!(f, "file {path}"),
            Source::KubeContext(ctx) => write!(f, "kube context {ctx}"),
            Source::Discovered(what) => write!(f, "discovered: {what}"),
            Source::Default => write!(f, "default"),
        }
    }
}

/// A Kubernetes service reached through the API server's proxy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRef {
    pub namespace: String,
    pub name: String,
    pub port: String,
}

impl ServiceRef {
    /// Parses `NS/NAME:PORT` (`:PORT` optional).
    pub fn parse(text: &str) -> Result<ServiceRef, String> {
        let (namespace, rest) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?} is not NAMESPACE/SERVICE:PORT"))?;
        let (name, port) = match rest.split_once(':') {
            Some((n, p)) => (n, p),
            None => (rest, ""),
        };
        let valid = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        };
        if !valid(namespace) || !valid(name) || (!port.is_empty() && !valid(port)) {
            return Err(format!(
                "{text:?} is not NAMESPACE/SERVICE:PORT (lowercase DNS names)"
            ));
        }
        Ok(ServiceRef {
            namespace: namespace.into(),
            name: name.into(),
            port: port.into(),
        })
    }
}

impl std::fmt::Display for ServiceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.port.is_empty() {
            write!(f, "{}/{}", self.namespace, self.name)
        } else {
            write!(f, "{}/{}:{}", self.namespace, self.name, self.port)
        }
    }
}

/// How to reach an HTTP API in the cluster (Prometheus, Loki).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Endpoint {
    /// Through the API server's service proxy, with the user's credentials.
    Service(ServiceRef),
    /// A direct URL (credentials, if any, stripped; the token comes from env).
    Url(String),
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Endpoint::Service(s) => write!(f, "service {s}"),
            Endpoint::Url(u) => write!(f, "{}", redact_url(u)),
        }
    }
}

/// The runbook's sessions-per-pod bands.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bands {
    pub green_min: f64,
    pub green_max: f64,
    pub yellow_min: f64,
    pub yellow_max: f64,
}

/// The runbook's targets.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Targets {
    pub scale_up_seconds: f64,
    pub scale_down_seconds: f64,
    pub pod_success_rate: f64,
    pub heartbeat_per_session: f64,
}

/// The validated settings every command runs with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub namespace: String,
    pub selector: String,
    pub deployment: String,
    pub scaled_object: String,
    pub nginx_service: String,
    pub prometheus: Endpoint,
    /// The tenant a multi-tenant Prometheus (Mimir, Cortex, Thanos receive)
    /// wants in `X-Scope-OrgID`, sent on every Prometheus request.
    pub prometheus_tenant: Option<String>,
    pub grafana_service: ServiceRef,
    pub loki: Endpoint,
    pub loki_query: String,
    /// The tenant a multi-tenant Loki wants in `X-Scope-OrgID`.
    pub loki_tenant: Option<String>,
    pub keda_namespace: String,
    pub keda_operator_selector: String,
    pub keda_metrics_apiserver_selector: String,
    /// Where Karpenter's controller runs; `None`: look in kube-system and karpenter.
    pub karpenter_namespace: Option<String>,
    pub sidecar_container: String,
    pub request_timeout: Duration,
    pub color: ColorChoice,
    /// Check ids or globs the config file silences.
    pub silence: Vec<String>,
    pub bands: Bands,
    pub targets: Targets,
    /// How the game pods are named: after the Deployment's ReplicaSets, or
    /// after a StatefulSet KEDA scales (found in the cluster, never set).
    pub pod_names: PodNames,
    /// The HPA KEDA made for the ScaledObject when the ScaledObject names
    /// another than `keda-hpa-<scaledObject>` (found in the cluster, never
    /// set; read it with [`Settings::keda_hpa_name`]).
    pub hpa_name: Option<String>,
    /// Every key with its effective value and source, in key order.
    pub effective: Vec<Effective>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Effective {
    pub key: String,
    pub value: Option<String>,
    pub source: Source,
    pub help: String,
}

/// The values the command line gave, one field per setting that has a
/// flag; the command line fills it (`cli::GlobalArgs::overrides`), so this
/// layer knows nothing of how flags are parsed.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub namespace: Option<String>,
    pub selector: Option<String>,
    pub deployment: Option<String>,
    pub scaled_object: Option<String>,
    pub nginx_service: Option<String>,
    pub prometheus_service: Option<String>,
    pub prometheus_url: Option<String>,
    pub prometheus_tenant: Option<String>,
    pub loki_url: Option<String>,
    pub loki_tenant: Option<String>,
    pub keda_namespace: Option<String>,
    pub request_timeout: Option<String>,
    pub color: Option<ColorChoice>,
}

impl Overrides {
    /// The value the command line gave a setting, if any. Each arm links a
    /// field to the setting's definition (which names the flag); a test in
    /// `cli` checks that each definition's flag is one clap knows, and back.
    pub fn value(&self, key: &str) -> Option<String> {
        let text = match key {
            "namespace" => &self.namespace,
            "selector" => &self.selector,
            "deployment" => &self.deployment,
            "scaledObject" => &self.scaled_object,
            "nginxService" => &self.nginx_service,
            "prometheusService" => &self.prometheus_service,
            "prometheusUrl" => &self.prometheus_url,
            "prometheusTenant" => &self.prometheus_tenant,
            "lokiUrl" => &self.loki_url,
            "lokiTenant" => &self.loki_tenant,
            "kedaNamespace" => &self.keda_namespace,
            "requestTimeout" => &self.request_timeout,
            "color" => {
                return self.color.map(|c| {
                    match c {
                        ColorChoice::Auto => "auto",
                        ColorChoice::Always => "always",
                        ColorChoice::Never => "never",
                    }
                    .to_string()
                });
            }
            _ => return None,
        };
        text.clone()
    }
}

impl Settings {
    /// Resolves every key. `kube_context` is the context in use (for the
    /// per-context section) and `context_namespace` its namespace, if any.
    pub fn resolve(
        args: &Overrides,
        env: &dyn Fn(&str) -> Option<String>,
        file: &ConfigFile,
        kube_context: Option<&str>,
        context_namespace: Option<&str>,
    ) -> Result<Settings, SettingsError> {
        let file_path = file
            .path()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let file_top = &file.values.top;
        let no_section = Vec::new();
        let file_ctx = kube_context
            .and_then(|c| file.values.contexts.get(c))
            .unwrap_or(&no_section);

        let mut effective = Vec::new();
        for key in SETTINGS {
            let from_flag = key.flag.zip(args.value(key.key));
            let env_var = key.env();
            let (value, source) = if let Some((flag, v)) = from_flag {
                (Some(v), Source::Flag(flag.to_string()))
            } else if let Some(v) = env(&env_var).filter(|v| !v.is_empty()) {
                (Some(v), Source::Env(env_var))
            } else if let Some((_, v)) = file_ctx.iter().find(|(k, _)| *k == key.key) {
                (
                    Some(v.clone()),
                    Source::File(format!(
                        "{file_path} (contexts.{})",
                        kube_context.unwrap_or_default()
                    )),
                )
            } else if let Some((_, v)) = file_top.iter().find(|(k, _)| *k == key.key) {
                (Some(v.clone()), Source::File(file_path.clone()))
            } else if key.key == "namespace" && context_namespace.is_some() {
                (
                    context_namespace.map(str::to_string),
                    Source::KubeContext(kube_context.unwrap_or("in-cluster").to_string()),
                )
            } else {
                (key.default.map(str::to_string), Source::Default)
            };
            effective.push(Effective {
                key: key.key.to_string(),
                value,
                source,
                help: key.doc.to_string(),
            });
        }
        let settings = Self::from_effective(effective, &file.text)?;
        for (endpoint, var) in [
            (&settings.prometheus, "SPICE_PROMETHEUS_TOKEN"),
            (&settings.loki, "SPICE_LOKI_TOKEN"),
        ] {
            if let Endpoint::Url(u) = endpoint
                && env(var).is_some_and(|t| !t.is_empty())
                && !token_may_travel_to(u)
            {
                return Err(SettingsError::PlainHttpToken {
                    var,
                    url: redact_url(u),
                });
            }
        }
        Ok(settings)
    }

    fn from_effective(
        effective: Vec<Effective>,
        file_text: &str,
    ) -> Result<Settings, SettingsError> {
        let vals = Values {
            effective: &effective,
            file_text,
        };
        let namespace = match vals.get("namespace").0 {
            Some(_) => vals.name("namespace")?,
            None => "default".to_string(),
        };
        let color = match vals.text("color")?.as_str() {
            "auto" => ColorChoice::Auto,
            "always" => ColorChoice::Always,
            "never" => ColorChoice::Never,
            other => {
                return Err(vals.fail(
                    "color",
                    format!("{other:?} is not one of auto, always, never"),
                ));
            }
        };
        let prometheus = match vals.url("prometheusUrl")? {
            Some(u) => Endpoint::Url(u),
            None => Endpoint::Service(vals.service("prometheusService")?),
        };
        let loki = match vals.url("lokiUrl")? {
            Some(u) => Endpoint::Url(u),
            None => Endpoint::Service(vals.service("lokiService")?),
        };
        let bands = Bands {
            green_min: vals.number("ratio.greenMin")?,
            green_max: vals.number("ratio.greenMax")?,
            yellow_min: vals.number("ratio.yellowMin")?,
            yellow_max: vals.number("ratio.yellowMax")?,
        };
        if !(bands.yellow_min <= bands.green_min
            && bands.green_min <= bands.green_max
            && bands.green_max <= bands.yellow_max)
        {
            // Blame a band the user set: a default edge is never the mistake.
            let culprit = [
                "ratio.greenMin",
                "ratio.greenMax",
                "ratio.yellowMin",
                "ratio.yellowMax",
            ]
            .into_iter()
            .find(|k| *vals.get(k).1 != Source::Default)
            .unwrap_or("ratio.greenMin");
            return Err(vals.fail(
                culprit,
                format!(
                    "bands must satisfy yellowMin ≤ greenMin ≤ greenMax ≤ yellowMax (got {} ≤ {} ≤ {} ≤ {})",
                    bands.yellow_min, bands.green_min, bands.green_max, bands.yellow_max
                ),
            ));
        }
        let targets = Targets {
            scale_up_seconds: vals
                .duration("targets.scaleUp", TARGET_RANGE)?
                .as_secs_f64(),
            scale_down_seconds: vals
                .duration("targets.scaleDown", TARGET_RANGE)?
                .as_secs_f64(),
            pod_success_rate: vals.number("targets.podSuccessRate")?,
            heartbeat_per_session: vals.number("targets.heartbeatPerSession")?,
        };
        if targets.pod_success_rate > 1.0 {
            return Err(vals.fail(
                "targets.podSuccessRate",
                "must be a fraction between 0 and 1, e.g. 0.99".into(),
            ));
        }
        // kubectl's "0 means no timeout" would let one dead source hang the
        // whole run; the plugin's default keeps it bounded instead.
        // Only a written zero (`0`, `0s`, `0.0`) is that: a tiny value that
        // rounds to zero nanoseconds (`0.0000000001s`) is out of range.
        let written_zero = |v: &str| v.chars().filter(char::is_ascii_digit).all(|c| c == '0');
        let request_timeout = match vals
            .get("requestTimeout")
            .0
            .as_deref()
            .map(|v| (parse_duration(v.trim()), written_zero(v)))
        {
            Some((Ok(d), true)) if d.is_zero() => Duration::from_secs(10),
            _ => vals.duration("requestTimeout", REQUEST_TIMEOUT_RANGE)?,
        };
        let settings = Settings {
            namespace,
            selector: vals.selector("selector")?,
            deployment: vals.name("deployment")?,
            scaled_object: vals.name("scaledObject")?,
            nginx_service: vals.text("nginxService")?,
            prometheus,
            prometheus_tenant: vals.tenant("prometheusTenant")?,
            grafana_service: vals.service("grafanaService")?,
            loki,
            loki_query: vals.text("lokiQuery")?,
            loki_tenant: vals.tenant("lokiTenant")?,
            keda_namespace: vals.name("kedaNamespace")?,
            keda_operator_selector: vals.selector("kedaOperatorSelector")?,
            keda_metrics_apiserver_selector: vals.selector("kedaMetricsApiserverSelector")?,
            karpenter_namespace: match vals.optional("karpenterNamespace") {
                Some(_) => Some(vals.name("karpenterNamespace")?),
                None => None,
            },
            sidecar_container: vals.name("sidecarContainer")?,
            request_timeout,
            color,
            silence: vals
                .get("silence")
                .0
                .as_deref()
                .unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            bands,
            targets,
            pod_names: PodNames::default(),
            hpa_name: None,
            effective: Vec::new(),
        };
        Ok(Settings {
            effective,
            ..settings
        })
    }

    /// Whether a key was given (flag, environment, config file, kube
    /// context) rather than left at its default: a given value is an
    /// override discovery never second-guesses. A value the cluster gave
    /// (`Source::Discovered`) is not one the user gave.
    pub fn is_set(&self, key: &str) -> bool {
        self.effective
            .iter()
            .any(|e| e.key == key && !matches!(e.source, Source::Default | Source::Discovered(_)))
    }

    /// The settings with every default and nothing else (for unit tests and examples).
    pub fn defaults() -> Settings {
        let effective = SETTINGS
            .iter()
            .map(|k| Effective {
                key: k.key.to_string(),
                value: k.default.map(str::to_string),
                source: Source::Default,
                help: k.doc.to_string(),
            })
            .collect();
        Settings::from_effective(effective, "").expect("the defaults are valid")
    }
}

#[cfg(test)]
mod tests;
