//! `kubectl spice status`: collect once, build the status view, render it.

use crate::cli::{GlobalArgs, Output, StatusArgs};
use crate::error::Fatal;
use crate::exit::ExitStatus;
use crate::report::status::{StatusReport, render_table};
use crate::report::{Styles, write_data};
use std::io::{IsTerminal, Write};

pub async fn run(
    global: &GlobalArgs,
    args: &StatusArgs,
    out: &mut dyn Write,
) -> Result<ExitStatus, Fatal> {
    let (snapshot, settings) = match &args.from {
        Some(path) => load_snapshot(global, path)?,
        None => super::collect(global, crate::cluster::collect::Scope::Status).await?,
    };
    let mut report = StatusReport::build(&snapshot, &settings);
    report.replay = args.from.as_deref().map(|path| {
        crate::report::replay::Replay::of(path, snapshot.captured_at, super::replay_now())
    });
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

pub use super::snapshot::load as load_snapshot;
