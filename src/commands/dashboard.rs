//! `kubectl spice dashboard`: the runbook's Grafana dashboard, with corrected
//! queries and the settings' names and bands, as JSON ready to import.

use crate::cli::GlobalArgs;
use crate::error::Fatal;
use crate::exit::ExitStatus;
use std::io::Write;

pub async fn run(global: &GlobalArgs, out: &mut dyn Write) -> Result<ExitStatus, Fatal> {
    let settings = super::alerts::resolve_settings(global).await?;
    let dashboard = crate::report::dashboard::dashboard(&settings);
    crate::report::write_data(out, &dashboard, crate::cli::Output::Json)?;
    Ok(ExitStatus::Ok)
}
