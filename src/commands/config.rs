//! `kubectl spice config view`: every setting, its value and its source.

use crate::cli::{ConfigArgs, ConfigCommand, GlobalArgs, Output};
use crate::cluster::client::KubeTarget;
use crate::error::Fatal;
use crate::exit::ExitStatus;
use crate::report::write_data;
use crate::settings::{ConfigFile, Settings};
use serde::Serialize;
use std::io::Write;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConfigView<'a> {
    api_version: &'static str,
    kind: &'static str,
    config_file: Option<String>,
    context: Option<String>,
    settings: &'a [crate::settings::Effective],
}

pub async fn run(
    global: &GlobalArgs,
    args: &ConfigArgs,
    out: &mut dyn Write,
) -> Result<ExitStatus, Fatal> {
    let ConfigCommand::View { output } = args.command;
    let env = crate::process_env;
    let file = ConfigFile::load(global.config.as_deref())?;
    // The context decides the per-context section and the namespace; without
    // a usable kubeconfig the rest of the settings still resolve.
    let (context, context_ns) = match KubeTarget::load(&global.kubeconfig_choice(), &env).await {
        Ok(t) => (t.context.clone(), t.context_namespace.clone()),
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
                settings: &settings.effective,
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
            for e in &settings.effective {
                let mut row = vec![
                    e.key.clone(),
                    e.value
                        .clone()
                        .map(|v| crate::settings::redact_url_if_url(&v))
                        .unwrap_or_else(|| "<unset>".into()),
                    e.source.to_string(),
                    crate::settings::env_name(&e.key),
                ];
                if output == Output::Wide {
                    row.push(e.help.clone());
                }
                b.push_record(row);
            }
            writeln!(out, "{}", crate::report::plain_table(b))?;
        }
    }
    Ok(ExitStatus::Ok)
}
