//! Every name and number the runbook hard-codes, as settings with the
//! runbook's value as default. Precedence: flags > `SPICE_*` environment >
//! config file (its per-context section first) > the kube context (namespace
//! only) > defaults. Each value remembers where it came from, which
//! `kubectl spice config view` prints.

use crate::cli::{ColorChoice, GlobalArgs};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

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
    Default,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Flag(flag) => write!(f, "flag {flag}"),
            Source::Env(var) => write!(f, "env {var}"),
            Source::File(path) => write!(f, "file {path}"),
            Source::KubeContext(ctx) => write!(f, "kube context {ctx}"),
            Source::Default => write!(f, "default"),
        }
    }
}

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
    pub grafana_service: ServiceRef,
    pub loki: Endpoint,
    pub loki_query: String,
    /// The tenant a multi-tenant Loki wants in `X-Scope-OrgID`.
    pub loki_tenant: Option<String>,
    pub keda_namespace: String,
    pub keda_operator_selector: String,
    pub keda_metrics_apiserver_selector: String,
    pub sidecar_container: String,
    pub request_timeout: Duration,
    pub color: ColorChoice,
    /// Check ids or globs the config file silences.
    pub silence: Vec<String>,
    pub bands: Bands,
    pub targets: Targets,
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

/// A config file's values by setting key: the top level, and each
/// kube-context section (same keys, no nesting of `contexts`).
#[derive(Debug, Default)]
struct FileValues {
    top: Vec<(&'static str, String)>,
    contexts: BTreeMap<String, Vec<(&'static str, String)>>,
}

/// The sections of the config file that hold dotted keys (`ratio.greenMin`).
const SECTIONS: &[&str] = &["ratio", "targets"];

impl FileValues {
    /// Reads a config file's text against [`SETTINGS`]: a key no definition
    /// names is an error with its line. Errors read `line N: ...`.
    fn parse(text: &str) -> Result<FileValues, String> {
        use serde_norway::Value;
        let map = match serde_norway::from_str::<Value>(text).map_err(|e| yaml_error(&e))? {
            Value::Mapping(m) => m,
            Value::Null => return Ok(FileValues::default()),
            _ => return Err("line 1: expected keys and values, e.g. `namespace: game`".into()),
        };
        let mut out = FileValues::default();
        let mut contexts = None;
        out.top = read_keys(text, &map, "", &mut |v| contexts = Some(v.clone()))?;
        let Some(contexts) = contexts else {
            return Ok(out);
        };
        let Value::Mapping(contexts) = contexts else {
            let line = line_of(text, "contexts", 1).unwrap_or(0);
            return Err(format!(
                "line {line}: contexts: expected a section per kube context"
            ));
        };
        for (name, section) in &contexts {
            let name = scalar_text(name).unwrap_or_default();
            let Value::Mapping(section) = section else {
                let line = line_of(text, &name, 1).unwrap_or(0);
                return Err(format!(
                    "line {line}: contexts.{name}: expected keys and values"
                ));
            };
            if section.contains_key("contexts") {
                return Err(format!(
                    "line {}: contexts.{name}: `contexts` cannot be nested",
                    line_of(text, "contexts", 2).unwrap_or(0)
                ));
            }
            let values = read_keys(text, section, "", &mut |_| ())?;
            out.contexts.insert(name, values);
        }
        Ok(out)
    }
}

/// The keys of one mapping (`prefix` is `ratio.` inside a section), each
/// checked against [`SETTINGS`]; `contexts` is handed to `on_contexts`.
fn read_keys(
    text: &str,
    map: &serde_norway::Mapping,
    prefix: &str,
    on_contexts: &mut dyn FnMut(&serde_norway::Value),
) -> Result<Vec<(&'static str, String)>, String> {
    use serde_norway::Value;
    let mut out = Vec::new();
    for (k, v) in map {
        let name = scalar_text(k).unwrap_or_default();
        let line = || line_of(text, &name, 1).unwrap_or(0);
        if prefix.is_empty() && name == "contexts" {
            on_contexts(v);
            continue;
        }
        if prefix.is_empty() && SECTIONS.contains(&name.as_str()) {
            match v {
                Value::Mapping(m) => {
                    out.extend(read_keys(text, m, &format!("{name}."), on_contexts)?)
                }
                Value::Null => {}
                _ => {
                    return Err(format!(
                        "line {}: {name}: expected a section of keys",
                        line()
                    ));
                }
            }
            continue;
        }
        let full = format!("{prefix}{name}");
        let Some(def) = SETTINGS.iter().find(|d| d.key == full) else {
            return Err(format!("line {}: unknown key `{name}`", line()));
        };
        let value = match v {
            Value::Null => continue,
            Value::Sequence(items) if def.key == "silence" => {
                let items: Option<Vec<String>> = items.iter().map(scalar_text).collect();
                items
                    .ok_or_else(|| format!("line {}: silence: expected check ids", line()))?
                    .join(",")
            }
            other => scalar_text(other)
                .ok_or_else(|| format!("line {}: {full}: expected a single value", line()))?,
        };
        out.push((def.key, value));
    }
    Ok(out)
}

/// A YAML scalar as the text the user wrote (numbers and booleans too).
fn scalar_text(v: &serde_norway::Value) -> Option<String> {
    use serde_norway::Value;
    match v {
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) => f.to_string(),
            _ => n.to_string(),
        }),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// The config file, read and checked for unknown keys, not yet applied.
#[derive(Debug, Default)]
pub struct ConfigFile {
    path: Option<PathBuf>,
    text: String,
    values: FileValues,
}

impl ConfigFile {
    /// The default path: `$XDG_CONFIG_HOME/kubectl-spice/config.yaml`, else
    /// `~/.config/kubectl-spice/config.yaml`.
    pub fn default_path() -> Option<PathBuf> {
        let base = match std::env::var_os("XDG_CONFIG_HOME") {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => home_dir()?.join(".config"),
        };
        Some(base.join("kubectl-spice").join("config.yaml"))
    }

    /// Loads `explicit` (must exist) or the default path (may be absent).
    pub fn load(explicit: Option<&Path>) -> Result<ConfigFile, SettingsError> {
        let (path, must_exist) = match explicit {
            Some(p) => (p.to_path_buf(), true),
            None => match Self::default_path() {
                Some(p) => (p, false),
                None => return Ok(ConfigFile::default()),
            },
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if !must_exist && e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(ConfigFile::default());
            }
            Err(e) => {
                return Err(SettingsError::File {
                    file: path.display().to_string(),
                    message: format!("cannot read: {}", crate::error::io_reason(&e)),
                });
            }
        };
        let values = FileValues::parse(&text).map_err(|message| SettingsError::File {
            file: path.display().to_string(),
            message,
        })?;
        Ok(ConfigFile {
            path: Some(path),
            text,
            values,
        })
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

fn yaml_error(e: &serde_norway::Error) -> String {
    let msg = e.to_string();
    // serde_norway appends " at line L column C"; put the line first, as compilers do.
    let (body, line) = match (msg.rfind(" at line "), e.location()) {
        (Some(idx), Some(loc)) => (msg[..idx].to_string(), Some(loc.line())),
        (_, Some(loc)) => (msg.clone(), Some(loc.line())),
        _ => (msg.clone(), None),
    };
    let body = body.replace("unknown field", "unknown key");
    match line {
        Some(l) => format!("line {l}: {body}"),
        None => body,
    }
}

/// The 1-based line of the `nth` occurrence of `key:` in a YAML text.
fn line_of(text: &str, key: &str, nth: usize) -> Option<usize> {
    let mut seen = 0;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with(&format!("{key}:")) {
            seen += 1;
            if seen == nth {
                return Some(i + 1);
            }
        }
    }
    None
}

pub fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// The value a flag gave a setting, if any. Each arm links a clap field of
/// `GlobalArgs` to the setting's definition (which names the flag); a test
/// checks that each definition's flag is one clap knows, and back.
fn flag_value(args: &GlobalArgs, key: &str) -> Option<String> {
    let text = match key {
        "namespace" => &args.namespace,
        "selector" => &args.selector,
        "deployment" => &args.deployment,
        "scaledObject" => &args.scaled_object,
        "nginxService" => &args.nginx_service,
        "prometheusService" => &args.prometheus_service,
        "prometheusUrl" => &args.prometheus_url,
        "lokiUrl" => &args.loki_url,
        "lokiTenant" => &args.loki_tenant,
        "kedaNamespace" => &args.keda_namespace,
        "requestTimeout" => &args.request_timeout,
        "color" => {
            return args.color.map(|c| {
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

impl Settings {
    /// Resolves every key. `kube_context` is the context in use (for the
    /// per-context section) and `context_namespace` its namespace, if any.
    pub fn resolve(
        args: &GlobalArgs,
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
            let from_flag = key.flag.zip(flag_value(args, key.key));
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
            grafana_service: vals.service("grafanaService")?,
            loki,
            loki_query: vals.text("lokiQuery")?,
            loki_tenant: vals.tenant("lokiTenant")?,
            keda_namespace: vals.name("kedaNamespace")?,
            keda_operator_selector: vals.selector("kedaOperatorSelector")?,
            keda_metrics_apiserver_selector: vals.selector("kedaMetricsApiserverSelector")?,
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
            effective: Vec::new(),
        };
        Ok(Settings {
            effective,
            ..settings
        })
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

/// The resolved raw values, read one key at a time into typed values; an
/// error names the key and where its value came from (flag, env, file line).
struct Values<'a> {
    effective: &'a [Effective],
    file_text: &'a str,
}

impl Values<'_> {
    fn get(&self, key: &str) -> (&Option<String>, &Source) {
        let e = self
            .effective
            .iter()
            .find(|e| e.key == key)
            .expect("every key is resolved");
        (&e.value, &e.source)
    }

    fn fail(&self, key: &str, message: String) -> SettingsError {
        match self.get(key).1 {
            Source::File(path) => {
                let leaf = key.rsplit('.').next().unwrap_or(key);
                let line = line_of(self.file_text, leaf, 1)
                    .map(|l| format!("line {l}: "))
                    .unwrap_or_default();
                SettingsError::File {
                    file: path.clone(),
                    message: format!("{line}{key}: {message}"),
                }
            }
            other => SettingsError::Value {
                source_name: other.to_string(),
                key: key.to_string(),
                message,
            },
        }
    }

    /// The value, trimmed, or `None` when unset or blank.
    fn optional(&self, key: &str) -> Option<&str> {
        self.get(key)
            .0
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }

    fn text(&self, key: &str) -> Result<String, SettingsError> {
        self.optional(key)
            .map(str::to_string)
            .ok_or_else(|| self.fail(key, "must not be empty".into()))
    }

    fn name(&self, key: &str) -> Result<String, SettingsError> {
        let v = self.text(key)?;
        if is_dns_name(&v) {
            Ok(v)
        } else {
            Err(self.fail(
                key,
                format!(
                    "{v:?} is not a valid Kubernetes name (lowercase letters, digits, '-', '.')"
                ),
            ))
        }
    }

    fn selector(&self, key: &str) -> Result<String, SettingsError> {
        let v = self.text(key)?;
        validate_selector(&v).map_err(|m| self.fail(key, m))?;
        Ok(v)
    }

    fn number(&self, key: &str) -> Result<f64, SettingsError> {
        let v = self.text(key)?;
        match v.parse::<f64>() {
            Ok(n) if n.is_finite() && n >= 0.0 => Ok(n),
            _ => Err(self.fail(key, format!("{v:?} is not a non-negative number"))),
        }
    }

    fn duration(&self, key: &str, range: DurationRange) -> Result<Duration, SettingsError> {
        let v = self.text(key)?;
        range.parse(&v).map_err(|m| self.fail(key, m))
    }

    fn service(&self, key: &str) -> Result<ServiceRef, SettingsError> {
        ServiceRef::parse(&self.text(key)?).map_err(|m| self.fail(key, m))
    }

    /// Loki's tenant IDs: letters, digits and !-_.*'() (up to 150), with
    /// `|` joining several for a federated query; it goes into a header.
    fn tenant(&self, key: &str) -> Result<Option<String>, SettingsError> {
        let Some(v) = self.optional(key) else {
            return Ok(None);
        };
        let allowed = |c: char| c.is_ascii_alphanumeric() || "!-_.*'()|".contains(c);
        if v.len() <= 150 && v.chars().all(allowed) {
            Ok(Some(v.to_string()))
        } else {
            Err(self.fail(
                key,
                "a Loki tenant ID is at most 150 letters, digits and !-_.*'() (| joins several)"
                    .into(),
            ))
        }
    }

    /// An http(s) URL without credentials in it (the token comes from env).
    fn url(&self, key: &str) -> Result<Option<String>, SettingsError> {
        let Some(v) = self.optional(key) else {
            return Ok(None);
        };
        match url::Url::parse(v) {
            Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {
                if u.password().is_some() || !u.username().is_empty() {
                    let var = if key.starts_with("loki") {
                        "SPICE_LOKI_TOKEN"
                    } else {
                        "SPICE_PROMETHEUS_TOKEN"
                    };
                    Err(self.fail(
                        key,
                        format!(
                            "{} carries credentials; put the token in {var} instead",
                            redact_url(v)
                        ),
                    ))
                } else {
                    Ok(Some(v.trim_end_matches('/').to_string()))
                }
            }
            _ => Err(self.fail(key, format!("{:?} is not an http(s) URL", redact_url(v)))),
        }
    }
}

fn is_dns_name(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 253
        && v.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && !v.starts_with('-')
        && !v.ends_with('-')
}

/// A light check of label-selector syntax, so a typo is a clear local error
/// rather than a 400 from the API server.
pub fn validate_selector(v: &str) -> Result<(), String> {
    let mut depth = 0i32;
    for c in v.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            break;
        }
    }
    if depth != 0 {
        return Err(format!("{v:?} has unbalanced parentheses"));
    }
    let ok = v.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(c, '-' | '_' | '.' | '/' | '=' | '!' | ',' | '(' | ')' | ' ')
    });
    if !ok || v.starts_with(',') || v.ends_with(',') || v.contains(",,") {
        return Err(format!(
            "{v:?} is not a label selector (e.g. app=spice-runner)"
        ));
    }
    Ok(())
}

/// The longest duration any setting accepts before its own range applies:
/// 10000 days (beyond that a value is a typo), far below where `Duration`
/// and `Instant` arithmetic would overflow.
const DURATION_CEILING_SECS: f64 = 10_000.0 * 86_400.0;

/// Parses `500ms`, `5s`, `2m`, `1h`, `1m30s` or a bare number of seconds.
/// Never panics: negative, NaN, infinite and absurdly long values are errors.
pub fn parse_duration(v: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "{:?} is not a duration (e.g. 30s, 1m, 1m30s, 500ms)",
            short(v)
        )
    };
    let total = match v.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs >= 0.0 => secs,
        Ok(_) => return Err(bad()),
        Err(_) => duration_units(v).ok_or_else(bad)?,
    };
    if total > DURATION_CEILING_SECS {
        return Err(format!(
            "{:?} is far too long for a duration (at most {})",
            short(v),
            show_duration(Duration::from_secs(DURATION_CEILING_SECS as u64))
        ));
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}

/// The seconds of a `1h2m3s500ms`-style text, `None` when it is not one.
fn duration_units(v: &str) -> Option<f64> {
    let mut total = 0.0f64;
    let mut rest = v;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        if digits == 0 {
            return None;
        }
        let n: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += n * factor;
        rest = &rest[unit_len..];
    }
    total.is_finite().then_some(total)
}

/// The sane range of one duration: a value outside it is refused with both ends named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationRange {
    pub min: Duration,
    pub max: Duration,
}

impl DurationRange {
    pub const fn new(min: Duration, max: Duration) -> DurationRange {
        DurationRange { min, max }
    }

    /// Parses `v` and checks it lies within the range.
    pub fn parse(&self, v: &str) -> Result<Duration, String> {
        let d = parse_duration(v)?;
        if d < self.min || d > self.max {
            return Err(format!(
                "{:?} is out of range: give {} to {}",
                short(v),
                show_duration(self.min),
                show_duration(self.max)
            ));
        }
        Ok(d)
    }
}

/// `requestTimeout`: 0 means the built-in 10s; otherwise 100ms to 1h.
pub const REQUEST_TIMEOUT_RANGE: DurationRange =
    DurationRange::new(Duration::from_millis(100), Duration::from_secs(3600));
/// `targets.scaleUp` and `targets.scaleDown`: 1s to 1h.
pub const TARGET_RANGE: DurationRange =
    DurationRange::new(Duration::from_secs(1), Duration::from_secs(3600));

/// A duration as a person writes it: `500ms`, `30s`, `10m`, `1h`, `7d`.
pub fn show_duration(d: Duration) -> String {
    let ms = d.as_millis();
    // Hours at the most: the parser takes Go's units (h, m, s, ms), so a
    // range in a hint must be something the user can type back.
    if ms == 0 {
        return "0s".into();
    }
    let units: [(u128, &str); 3] = [(3_600_000, "h"), (60_000, "m"), (1000, "s")];
    for (size, unit) in units {
        if ms >= size && ms.is_multiple_of(size) {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

/// A value quoted in an error, cut to a length that stays one readable line.
fn short(v: &str) -> String {
    const MAX: usize = 40;
    match v.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &v[..i]),
        None => v.to_string(),
    }
}

/// A URL with any user name, password or token-like query value replaced by `REDACTED`.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) => {
            if !u.username().is_empty() {
                let _ = u.set_username("REDACTED");
            }
            if u.password().is_some() {
                let _ = u.set_password(Some("REDACTED"));
            }
            if u.query().is_some() {
                let pairs: Vec<(String, String)> = u
                    .query_pairs()
                    .map(|(k, v)| {
                        let secret = ["token", "password", "secret", "key", "auth"]
                            .iter()
                            .any(|s| k.to_ascii_lowercase().contains(s));
                        (
                            k.into_owned(),
                            if secret {
                                "REDACTED".to_string()
                            } else {
                                v.into_owned()
                            },
                        )
                    })
                    .collect();
                u.query_pairs_mut().clear().extend_pairs(pairs);
            }
            u.to_string().trim_end_matches('/').to_string()
        }
        Err(_) => "<invalid URL>".to_string(),
    }
}

/// Whether a bearer token may be sent to `raw`: over https, or over plain
/// http only to this machine (127.0.0.0/8, ::1, localhost), where a
/// port-forward listens and nothing crosses a network.
pub fn token_may_travel_to(raw: &str) -> bool {
    let Ok(u) = url::Url::parse(raw) else {
        return false;
    };
    match (u.scheme(), u.host()) {
        ("https", _) => true,
        ("http", Some(url::Host::Ipv4(ip))) => ip.is_loopback(),
        ("http", Some(url::Host::Ipv6(ip))) => ip.is_loopback(),
        ("http", Some(url::Host::Domain(d))) => d.eq_ignore_ascii_case("localhost"),
        _ => false,
    }
}

/// `redact_url` for values that are URLs; other values unchanged.
pub fn redact_url_if_url(v: &str) -> String {
    if v.starts_with("http://") || v.starts_with("https://") {
        redact_url(v)
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    fn file(text: &str) -> Result<ConfigFile, SettingsError> {
        // A folder of its own, removed when the file is read.
        let dir = tempfile::Builder::new()
            .prefix("spice-settings-")
            .tempdir()
            .unwrap();
        let path = dir.path().join("config.yaml");
        std::fs::write(&path, text).unwrap();
        ConfigFile::load(Some(&path))
    }

    /// Resolves with defaults for everything but the environment.
    fn resolve_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Settings, SettingsError> {
        Settings::resolve(
            &GlobalArgs::default(),
            env,
            &ConfigFile::default(),
            None,
            None,
        )
    }

    fn value<'a>(s: &'a Settings, key: &str) -> &'a Effective {
        s.effective.iter().find(|e| e.key == key).unwrap()
    }

    #[test]
    fn defaults_are_the_runbooks_values() {
        let s = Settings::defaults();
        assert_eq!(s.namespace, "default");
        assert_eq!(s.selector, "app=spice-runner");
        assert_eq!(s.scaled_object, "spice-runner-keda");
        assert_eq!(
            s.prometheus,
            Endpoint::Service(ServiceRef {
                namespace: "observability".into(),
                name: "prometheus".into(),
                port: "9090".into()
            })
        );
        assert_eq!(
            s.bands,
            Bands {
                green_min: 0.8,
                green_max: 1.2,
                yellow_min: 0.5,
                yellow_max: 1.5
            }
        );
        assert_eq!(s.targets.scale_up_seconds, 30.0);
        assert_eq!(s.targets.scale_down_seconds, 60.0);
    }

    #[test]
    fn flags_beat_env_beat_context_section_beat_file_beat_kube_context() {
        let cfg = file("deployment: from-file\nselector: app=file\nscaledObject: file-so\ncontexts:\n  prod:\n    deployment: from-ctx\n    selector: app=ctx\n").unwrap();
        let args = GlobalArgs {
            deployment: Some("from-flag".into()),
            ..Default::default()
        };
        let env = env_of(&[
            ("SPICE_DEPLOYMENT", "from-env"),
            ("SPICE_SELECTOR", "app=env"),
        ]);
        let s = Settings::resolve(&args, &env, &cfg, Some("prod"), Some("games")).unwrap();
        assert_eq!(s.deployment, "from-flag");
        assert_eq!(
            value(&s, "deployment").source,
            Source::Flag("--deployment".into())
        );
        assert_eq!(s.selector, "app=env");
        assert_eq!(
            value(&s, "selector").source,
            Source::Env("SPICE_SELECTOR".into())
        );
        assert_eq!(s.scaled_object, "file-so");
        assert!(matches!(value(&s, "scaledObject").source, Source::File(_)));
        assert_eq!(s.namespace, "games");
        assert_eq!(
            value(&s, "namespace").source,
            Source::KubeContext("prod".into())
        );

        let s = Settings::resolve(
            &GlobalArgs::default(),
            &env_of(&[]),
            &cfg,
            Some("prod"),
            None,
        )
        .unwrap();
        assert_eq!(s.deployment, "from-ctx");
        assert!(
            matches!(&value(&s, "deployment").source, Source::File(f) if f.contains("contexts.prod"))
        );
        let s = Settings::resolve(
            &GlobalArgs::default(),
            &env_of(&[]),
            &cfg,
            Some("dev"),
            None,
        )
        .unwrap();
        assert_eq!(s.deployment, "from-file");
        assert_eq!(s.namespace, "default");
    }

    #[test]
    fn every_definition_flag_is_a_clap_flag_and_every_setting_flag_has_a_definition() {
        use clap::{CommandFactory, Parser};
        let cmd = crate::cli::Cli::command();
        let clap_flags: Vec<String> = cmd
            .get_arguments()
            .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
            .collect();
        for d in SETTINGS.iter().filter_map(|d| d.flag) {
            assert!(clap_flags.iter().any(|f| f == d), "{d} is not a clap flag");
        }
        // Connection flags are kubectl's, not settings.
        let connection = [
            "--kubeconfig",
            "--context",
            "--cluster",
            "--user",
            "--config",
        ];
        for f in clap_flags
            .iter()
            .filter(|f| !connection.contains(&f.as_str()))
        {
            if f == "--help" || f == "--version" {
                continue;
            }
            let def = SETTINGS.iter().find(|d| d.flag == Some(f.as_str()));
            let def = def.unwrap_or_else(|| panic!("global flag {f} has no setting definition"));
            // The flag's value reaches the setting.
            let cli =
                crate::cli::Cli::try_parse_from(["kubectl-spice", f.as_str(), "never", "status"])
                    .expect("a global flag with a value");
            assert_eq!(
                flag_value(&cli.global, def.key).as_deref(),
                Some("never"),
                "{f}"
            );
        }
    }

    #[test]
    fn every_definition_is_a_config_file_key_and_an_env_variable() {
        let mut text = String::new();
        let mut section = "";
        for d in SETTINGS {
            let (sec, leaf) = d.key.split_once('.').unwrap_or(("", d.key));
            if sec != section {
                text.push_str(&format!("{sec}:\n"));
                section = sec;
            }
            let indent = if sec.is_empty() { "" } else { "  " };
            text.push_str(&format!("{indent}{leaf}: x\n"));
        }
        let parsed = FileValues::parse(&text).expect("every key is known");
        let keys: Vec<&str> = parsed.top.iter().map(|(k, _)| *k).collect();
        let all: Vec<&str> = SETTINGS.iter().map(|d| d.key).collect();
        assert_eq!(keys, all);
        for d in SETTINGS {
            let var = d.env();
            let env = |k: &str| (k == var).then(|| "bogus value".to_string());
            let resolved = Settings::resolve(
                &GlobalArgs::default(),
                &env,
                &ConfigFile::default(),
                None,
                None,
            );
            let source = resolved.map(|s| {
                s.effective
                    .into_iter()
                    .find(|e| e.key == d.key)
                    .map(|e| e.source)
            });
            match source {
                Ok(Some(source)) => assert_eq!(source, Source::Env(var.clone())),
                Ok(None) => panic!("{} is not in config view", d.key),
                // A value the setting refuses names the variable it came from.
                Err(e) => assert!(e.to_string().contains(&var), "{e}"),
            }
        }
    }

    #[test]
    fn the_readme_lists_every_setting_with_its_env_and_flag() {
        let readme = include_str!("../README.md");
        for d in SETTINGS {
            let flag = d
                .flag
                .map(|f| format!("`{f}`"))
                .unwrap_or_else(|| "–".into());
            let flag = if d.key == "namespace" {
                "`-n/--namespace`".into()
            } else if d.key == "selector" {
                "`-l/--selector`".into()
            } else {
                flag
            };
            let row = format!("| {flag} | `{}` | `{}` |", d.key, d.env());
            assert!(readme.contains(&row), "README has no row {row}");
        }
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let err = file("selector: app=x\n\nscaledObjekt: oops\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("config.yaml"), "{err}");
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("unknown key `scaledObjekt`"), "{err}");
    }

    #[test]
    fn bad_value_in_file_names_file_line_and_key() {
        let cfg = file("selector: app=x\nratio:\n  greenMin: lots\n").unwrap();
        let err = Settings::resolve(&GlobalArgs::default(), &env_of(&[]), &cfg, None, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("config.yaml: line 3: ratio.greenMin"), "{err}");
        assert!(err.contains("\"lots\""), "{err}");
    }

    #[test]
    fn a_band_error_names_the_band_that_was_set() {
        let env = env_of(&[("SPICE_RATIO_GREEN_MAX", "2")]);
        let err = resolve_env(&env).unwrap_err().to_string();
        assert!(
            err.starts_with("env SPICE_RATIO_GREEN_MAX: ratio.greenMax: bands must"),
            "{err}"
        );
    }

    #[test]
    fn bad_env_value_names_the_variable() {
        let env = env_of(&[("SPICE_TARGETS_SCALE_UP", "soon")]);
        let err = resolve_env(&env).unwrap_err().to_string();
        assert!(
            err.starts_with("env SPICE_TARGETS_SCALE_UP: targets.scaleUp:"),
            "{err}"
        );
    }

    #[test]
    fn url_with_credentials_is_refused_without_echoing_them() {
        let args = GlobalArgs {
            prometheus_url: Some("https://bob:hunter2@prom.example:9090".into()),
            ..Default::default()
        };
        let err = Settings::resolve(&args, &env_of(&[]), &ConfigFile::default(), None, None)
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2") && !err.contains("bob"), "{err}");
        assert!(err.contains("SPICE_PROMETHEUS_TOKEN"), "{err}");
    }

    #[test]
    fn a_token_is_refused_over_plain_http_except_to_loopback() {
        let with = |url: &'static str, var: &'static str| {
            let args = GlobalArgs {
                prometheus_url: Some(url.into()),
                loki_url: Some(url.into()),
                ..Default::default()
            };
            let env = move |k: &str| (k == var).then(|| "s3cr3t-token".to_string());
            Settings::resolve(&args, &env, &ConfigFile::default(), None, None)
        };
        for var in ["SPICE_PROMETHEUS_TOKEN", "SPICE_LOKI_TOKEN"] {
            let err = with("http://prom.example:9090", var).unwrap_err();
            let text = err.to_string();
            assert!(text.contains(var) && text.contains("plain HTTP"), "{text}");
            assert!(!text.contains("s3cr3t"), "{text}");
            assert!(err.hint().contains("https://"), "{}", err.hint());
            for fine in [
                "https://prom.example:9090",
                "http://127.0.0.1:9090",
                "http://127.8.0.1:9090",
                "http://[::1]:9090",
                "http://LOCALHOST:9090",
            ] {
                assert!(with(fine, var).is_ok(), "{fine} with {var}");
            }
        }
        // Without a token there is nothing to leak.
        let args = GlobalArgs {
            prometheus_url: Some("http://prom.example:9090".into()),
            ..Default::default()
        };
        assert!(Settings::resolve(&args, &env_of(&[]), &ConfigFile::default(), None, None).is_ok());
        assert!(!token_may_travel_to("http://localhost.evil.example"));
        assert!(!token_may_travel_to("http://10.0.0.1"));
    }

    #[test]
    fn durations_out_of_range_are_one_line_errors_never_panics() {
        for v in [
            "1e20",
            "99999999999999999999h",
            "1e30",
            "4000000000000000h",
            "-5",
            "-1s",
            "NaN",
            "inf",
            "1e308",
            "1.5.5s",
        ] {
            let err = parse_duration(v)
                .and_then(|d| REQUEST_TIMEOUT_RANGE.parse(v).map(|_| d))
                .unwrap_err();
            assert!(!err.contains('\n') && err.len() < 200, "{v}: {err}");
        }
        for (key, v) in [
            ("SPICE_REQUEST_TIMEOUT", "1e20"),
            ("SPICE_REQUEST_TIMEOUT", "2h"),
            ("SPICE_TARGETS_SCALE_UP", "4000000000000000h"),
            ("SPICE_TARGETS_SCALE_DOWN", "0.1s"),
        ] {
            let env = move |k: &str| (k == key).then(|| v.to_string());
            let err = resolve_env(&env).unwrap_err().to_string();
            assert!(err.starts_with(&format!("env {key}")), "{err}");
            assert!(
                err.contains("out of range") || err.contains("too long"),
                "{err}"
            );
        }
        let cfg = file("requestTimeout: 1e30\ntargets:\n  scaleUp: 1e30\n").unwrap();
        let err = Settings::resolve(&GlobalArgs::default(), &env_of(&[]), &cfg, None, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 3: targets.scaleUp"), "{err}");
        let cfg = file("requestTimeout: .nan\n").unwrap();
        let err = Settings::resolve(&GlobalArgs::default(), &env_of(&[]), &cfg, None, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 1: requestTimeout"), "{err}");
        // 0 keeps kubectl's spelling but the plugin's bounded default.
        let env = env_of(&[("SPICE_REQUEST_TIMEOUT", "0")]);
        let s = resolve_env(&env).unwrap();
        assert_eq!(s.request_timeout, Duration::from_secs(10));
        for env in [
            env_of(&[("SPICE_REQUEST_TIMEOUT", "0s")]),
            env_of(&[("SPICE_REQUEST_TIMEOUT", "0.0")]),
            env_of(&[("SPICE_REQUEST_TIMEOUT", "0ms")]),
        ] {
            assert_eq!(
                resolve_env(&env).unwrap().request_timeout,
                Duration::from_secs(10)
            );
        }
        // A value too small to be a timeout is not zero: it is out of range.
        let env = env_of(&[("SPICE_REQUEST_TIMEOUT", "0.0000000001s")]);
        let err = resolve_env(&env).unwrap_err().to_string();
        assert!(err.contains("out of range"), "{err}");
        assert_eq!(show_duration(Duration::from_secs(7 * 86_400)), "168h");
        assert_eq!(show_duration(Duration::ZERO), "0s");
        assert_eq!(show_duration(Duration::from_millis(100)), "100ms");
    }

    #[test]
    fn durations_parse_like_kubectl() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("5").unwrap(), Duration::from_secs(5));
        assert!(parse_duration("5 parsecs").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn env_names_are_upper_snake() {
        assert_eq!(env_name("ratio.greenMin"), "SPICE_RATIO_GREEN_MIN");
        assert_eq!(env_name("scaledObject"), "SPICE_SCALED_OBJECT");
    }

    #[test]
    fn service_refs_parse_and_reject_junk() {
        let s = ServiceRef::parse("observability/prometheus:9090").unwrap();
        assert_eq!(
            (s.namespace.as_str(), s.name.as_str(), s.port.as_str()),
            ("observability", "prometheus", "9090")
        );
        assert!(ServiceRef::parse("prometheus:9090").is_err());
        assert!(ServiceRef::parse("obs/Prom").is_err());
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;
        use std::time::Instant;

        /// Parsing is linear; a generous bound still catches a quadratic or
        /// hanging parser on a loaded test machine.
        const BOUND: Duration = Duration::from_millis(500);

        fn duration_text() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<String>(),
                "[0-9.eE+-]{0,30}[a-z]{0,3}",
                "([0-9]{1,25}(\\.[0-9]{0,5})?(ms|s|m|h)){1,6}",
            ]
        }

        /// Failures are reported with their minimal input, not saved to a
        /// file beside the sources.
        fn config(cases: u32) -> ProptestConfig {
            ProptestConfig {
                cases,
                failure_persistence: None,
                ..ProptestConfig::default()
            }
        }

        proptest! {
            #![proptest_config(config(256))]

            #[test]
            fn durations_never_panic_and_stay_in_range(v in duration_text()) {
                let start = Instant::now();
                if let Ok(d) = parse_duration(&v) {
                    prop_assert!(d.as_secs_f64() <= DURATION_CEILING_SECS);
                }
                for range in [REQUEST_TIMEOUT_RANGE, TARGET_RANGE] {
                    if let Ok(d) = range.parse(&v) {
                        prop_assert!(range.min <= d && d <= range.max);
                    } else {
                        let e = range.parse(&v).unwrap_err();
                        prop_assert!(!e.contains('\n') && e.chars().count() < 200, "{}", e);
                    }
                }
                prop_assert!(start.elapsed() < BOUND);
            }

            #[test]
            fn selectors_never_panic(v in any::<String>()) {
                let start = Instant::now();
                let _ = validate_selector(&v);
                prop_assert!(start.elapsed() < BOUND);
            }

            #[test]
            fn any_env_value_resolves_or_is_a_one_line_error(
                key in prop::sample::select(SETTINGS.iter().map(|k| k.key).collect::<Vec<_>>()),
                value in prop_oneof![any::<String>(), "[0-9.eE+-]{1,40}[a-z]{0,2}"],
            ) {
                let var = env_name(key);
                let env = |k: &str| (k == var).then(|| value.clone());
                let start = Instant::now();
                if let Err(e) = resolve_env(&env) {
                    prop_assert!(e.to_string().starts_with(&format!("env {var}")), "{}", e);
                }
                prop_assert!(start.elapsed() < BOUND);
            }
        }

        proptest! {
            #![proptest_config(config(64))]

            #[test]
            fn any_config_file_loads_or_is_an_error(text in prop_oneof![
                any::<String>(),
                "(requestTimeout|targets|ratio|contexts|selector): [-+.0-9eE\\[\\]{}a-z:\n ]{0,40}",
            ]) {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("config.yaml");
                std::fs::write(&path, &text).unwrap();
                let start = Instant::now();
                if let Ok(cfg) = ConfigFile::load(Some(&path)) {
                    let _ = Settings::resolve(&GlobalArgs::default(), &|_: &str| None, &cfg, Some("prod"), None);
                }
                prop_assert!(start.elapsed() < BOUND);
            }
        }
    }
}
