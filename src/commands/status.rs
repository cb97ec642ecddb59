//! `kubectl spice status`: collect once, build the status view, render it.

use crate::cli::{GlobalArgs, Output, StatusArgs};
use crate::error::Fatal;
use crate::exit::ExitStatus;
use crate::report::status::{StatusReport, render_table};
use crate::report::{Styles, write_data};
use crate::settings::{ConfigFile, Settings};
use crate::snapshot::Snapshot;
use std::io::{IsTerminal, Write};
use std::path::Path;

pub async fn run(
    global: &GlobalArgs,
    args: &StatusArgs,
    out: &mut dyn Write,
) -> Result<ExitStatus, Fatal> {
    let (snapshot, settings) = match &args.from {
        Some(path) => load_snapshot(global, path)?,
        None => super::collect(global, crate::cluster::collect::Scope::Status).await?,
    };
    let report = StatusReport::build(&snapshot, &settings);
    match args.output {
        Output::Json | Output::Yaml => write_data(out, &report, args.output)?,
        Output::Table | Output::Wide => {
            let styles = Styles::decide(
                settings.color,
                &crate::process_env,
                std::io::stdout().is_terminal(),
            );
            render_table(
                out,
                &report,
                &snapshot,
                &settings,
                &styles,
                args.output == Output::Wide,
            )?;
        }
    }
    out.flush()?;
    Ok(ExitStatus::Ok)
}

/// Reads a saved snapshot (JSON or YAML) for offline replay.
pub fn load_snapshot(global: &GlobalArgs, path: &Path) -> Result<(Snapshot, Settings), Fatal> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Fatal::new(
            format!(
                "snapshot {}: {}",
                path.display(),
                crate::error::io_reason(&e)
            ),
            "save one with `kubectl spice snapshot -o FILE`",
        )
    })?;
    let snapshot: Snapshot = serde_json::from_str(&text)
        .or_else(|_| serde_norway::from_str(&text))
        .map_err(|e| {
            Fatal::new(
                format!(
                    "snapshot {}: not a kubectl-spice snapshot: {e}",
                    path.display()
                ),
                "save one with `kubectl spice snapshot -o FILE`",
            )
        })?;
    if snapshot.kind != "Snapshot" || snapshot.api_version != crate::snapshot::API_VERSION {
        return Err(Fatal::new(
            format!(
                "snapshot {}: kind {:?} apiVersion {:?} is not a {} Snapshot",
                path.display(),
                snapshot.kind,
                snapshot.api_version,
                crate::snapshot::API_VERSION
            ),
            "save one with `kubectl spice snapshot -o FILE`",
        ));
    }
    let file = ConfigFile::load(global.config.as_deref())?;
    let settings = Settings::resolve(
        global,
        &crate::process_env,
        &file,
        snapshot.context.as_deref(),
        Some(snapshot.namespace.as_str()),
    )?;
    Ok((snapshot, settings))
}
