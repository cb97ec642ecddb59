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
    // Where to import it: the grafanaService setting, on stderr so stdout
    // stays the JSON alone.
    let g = &settings.grafana_service;
    let mut err = crate::report::text::SafeWriter::new(std::io::stderr().lock());
    let _ = writeln!(
        err,
        "import it into Grafana ({g}): kubectl port-forward -n {} svc/{} {}:{}, then http://localhost:{}/dashboard/import",
        g.namespace, g.name, g.port, g.port, g.port
    );
    Ok(ExitStatus::Ok)
}
