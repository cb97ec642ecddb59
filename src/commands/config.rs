//! `kubectl spice config view`: every setting, its value and its source;
//! with `--discover`, the values the cluster gave and what said so.

use crate::cli::{ConfigArgs, ConfigCommand, GlobalArgs, Output};
use crate::cluster::client::KubeTarget;
use crate::error::Fatal;
use crate::exit::ExitStatus;
use crate::report::write_data;
use crate::settings::{ConfigFile, Settings, Source};
use crate::snapshot::{KedaHow, Snapshot};
use serde::Serialize;
use std::io::Write;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConfigView {
    api_version: &'static str,
    kind: &'static str,
    config_file: Option<String>,
    context: Option<String>,
    /// Whether the cluster was read (`--discover`).
    discovered: bool,
    settings: Vec<Row>,
}

/// One setting as `config view` shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Row {
    key: String,
    value: Option<String>,
    source: Source,
    /// The line of the config file that sets it.
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    help: String,
    /// Without `--discover`, for a value left at its default: what in the
    /// cluster would decide it instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    discoverable: Option<&'static str>,
}

/// The settings the cluster can decide when they are not set, and what
/// decides each (the same reads as `diagnose`).
pub const DISCOVERABLE: &[(&str, &str)] = &[
    (
        "prometheusService",
        "ScaledObject trigger serverAddress, when the configured Service does not exist",
    ),
    (
        "prometheusTenant",
        "ScaledObject trigger customHeaders (X-Scope-OrgID), when Prometheus answers no org id",
    ),
    (
        "lokiService",
        "the Loki chart's gateway Service loki-gateway, when the configured Service does not exist",
    ),
    (
        "kedaNamespace",
        "APIService v1beta1.external.metrics.k8s.io (its Service's namespace), when no KEDA pod is in the configured one",
    ),
    (
        "kedaOperatorSelector",
        "the labels of the KEDA install found (Helm chart or release manifests)",
    ),
    (
        "kedaMetricsApiserverSelector",
        "the labels of the KEDA install found (Helm chart or release manifests)",
    ),
    (
        "karpenterNamespace",
        "where Karpenter's controller pods run (kube-system, then karpenter)",
    ),
];

/// The values the collect step found in the cluster for settings left at
/// their defaults: `(key, value, what said so)`.
pub fn discovered(snap: &Snapshot, settings: &Settings) -> Vec<(&'static str, String, String)> {
    let mut out = Vec::new();
    let unset = |key: &str| !settings.is_set(key);
    if let Some(k) = &snap.keda_found {
        let what = match k.how {
            KedaHow::ApiService => Some(format!(
                "APIService {}",
                crate::cluster::discover::KEDA_APISERVICE
            )),
            KedaHow::WellKnown => Some("KEDA's pods in a well-known namespace".to_string()),
            _ => None,
        };
        if let Some(what) = what.filter(|_| unset("kedaNamespace")) {
            out.push(("kedaNamespace", k.namespace.clone(), what));
        }
        if k.how != KedaHow::NotFound {
            for (key, found, configured) in [
                (
                    "kedaOperatorSelector",
                    &k.operator_selector,
                    &settings.keda_operator_selector,
                ),
                (
                    "kedaMetricsApiserverSelector",
                    &k.metrics_apiserver_selector,
                    &settings.keda_metrics_apiserver_selector,
                ),
            ] {
                if unset(key) && found != configured {
                    out.push((key, found.clone(), "the labels of KEDA's pods found".into()));
                }
            }
        }
    }
    if let Some(p) = &snap.prometheus_read {
        if p.how == "ScaledObject trigger" && unset("prometheusService") {
            out.push((
                "prometheusService",
                p.address.clone(),
                "ScaledObject trigger serverAddress".into(),
            ));
        }
        if let Some(t) = &p.tenant
            && p.tenant_from.as_deref() == Some("ScaledObject trigger")
            && unset("prometheusTenant")
        {
            out.push((
                "prometheusTenant",
                t.clone(),
                "ScaledObject trigger customHeaders".into(),
            ));
        }
    }
    if let Some(l) = &snap.loki_read
        && l.how == crate::snapshot::LOKI_GATEWAY_HOW
        && unset("lokiService")
    {
        out.push((
            "lokiService",
            l.address.clone(),
            "the Loki chart's gateway Service".into(),
        ));
    }
    if let Some(pod) = snap.karpenter_pods.iter().flatten().next()
        && unset("karpenterNamespace")
    {
        out.push((
            "karpenterNamespace",
            pod.namespace.clone(),
            "Karpenter's controller pods".into(),
        ));
    }
    out
}

pub async fn run(
    global: &GlobalArgs,
    args: &ConfigArgs,
    out: &mut dyn Write,
) -> Result<ExitStatus, Fatal> {
    let ConfigCommand::View { output, discover } = args.command;
    let env = crate::process_env;
    let file = ConfigFile::load(global.config.as_deref())?;
    // The context decides the per-context section and the namespace; without
    // a usable kubeconfig the rest of the settings still resolve (not with
    // --discover, which needs the cluster and says why it cannot run).
    let (context, context_ns) = match KubeTarget::load(&global.kubeconfig_choice(), &env).await {
        Ok(t) => (t.context.clone(), t.context_namespace.clone()),
        Err(e) if discover => return Err(e.into()),
        Err(e) => {
            crate::report::text::warn(&format!("{e} (showing settings without a kube context)"));
            (None, None)
        }
    };
    let settings = Settings::resolve(
        &global.overrides(),
        &env,
        &file,
        context.as_deref(),
        context_ns.as_deref(),
    )?;
    let found = if discover {
        let (sources, settings) = super::sources(global).await?;
        let snap = crate::cluster::collect::run(
            &sources,
            &settings,
            jiff::Timestamp::now(),
            crate::cluster::collect::Scope::Full,
        )
        .await?;
        discovered(&snap, &settings)
    } else {
        Vec::new()
    };
    let rows: Vec<Row> = settings
        .effective
        .iter()
        .map(|e| {
            let line = match &e.source {
                Source::File(_) => crate::settings::file_line(&file, &e.key),
                _ => None,
            };
            let mut row = Row {
                key: e.key.clone(),
                value: e.value.clone(),
                source: e.source.clone(),
                line,
                help: e.help.clone(),
                discoverable: None,
            };
            if let Some((_, v, what)) = found.iter().find(|(k, _, _)| *k == e.key) {
                row.value = Some(v.clone());
                row.source = Source::Discovered(what.clone());
            } else if !discover && e.source == Source::Default {
                row.discoverable = DISCOVERABLE
                    .iter()
                    .find(|(k, _)| *k == e.key)
                    .map(|(_, what)| *what);
            }
            row
        })
        .collect();
    let config_file = file
        .path()
        .map(|p| p.display().to_string())
        .or_else(|| ConfigFile::default_path().map(|p| format!("{} (absent)", p.display())));
    match output {
        Output::Json | Output::Yaml => {
            let view = ConfigView {
                api_version: crate::snapshot::API_VERSION,
                kind: "Config",
                config_file,
                context,
                discovered: discover,
                settings: rows,
            };
            write_data(out, &view, output)?;
        }
        Output::Table | Output::Wide => {
            writeln!(
                out,
                "config file: {}",
                config_file.unwrap_or_else(|| "none".into())
            )?;
            writeln!(
                out,
                "kube context: {}",
                context.unwrap_or_else(|| "none".into())
            )?;
            writeln!(out)?;
            let mut b = tabled::builder::Builder::default();
            let mut header = vec!["KEY", "VALUE", "SOURCE", "ENV"];
            if output == Output::Wide {
                header.push("MEANING");
            }
            b.push_record(header);
            for r in &rows {
                let source = match (&r.source, r.line, r.discoverable) {
                    (Source::File(path), Some(line), _) => format!("file {path}:{line}"),
                    (Source::Default, _, Some(_)) => "default (else discovered*)".to_string(),
                    (other, _, _) => other.to_string(),
                };
                let mut row = vec![
                    r.key.clone(),
                    r.value
                        .clone()
                        .map(|v| crate::settings::redact_url_if_url(&v))
                        .unwrap_or_else(|| "<unset>".into()),
                    crate::domain::text::one_line(&source).into_owned(),
                    crate::settings::env_name(&r.key),
                ];
                if output == Output::Wide {
                    row.push(r.help.clone());
                }
                b.push_record(row);
            }
            writeln!(out, "{}", crate::report::plain_table(b))?;
            let marked: Vec<&Row> = rows.iter().filter(|r| r.discoverable.is_some()).collect();
            if !marked.is_empty() {
                writeln!(
                    out,
                    "\n* found in the cluster when the default does not hold (`kubectl spice config view --discover` reads it):"
                )?;
                for r in marked {
                    writeln!(out, "  {}: {}", r.key, r.discoverable.unwrap_or_default())?;
                }
            }
        }
    }
    Ok(ExitStatus::Ok)
}
