//! `kubectl spice snapshot -o FILE`: one collect step saved as JSON, for
//! replay with `status --from` (and `diagnose --from`) during or after an incident.

use crate::cli::{GlobalArgs, SnapshotArgs};
use crate::error::Fatal;
use crate::exit::ExitStatus;
use std::io::Write;

pub async fn run(
    global: &GlobalArgs,
    args: &SnapshotArgs,
    out: &mut dyn Write,
) -> Result<ExitStatus, Fatal> {
    let (snapshot, _settings) =
        super::collect(global, crate::cluster::collect::Scope::Full).await?;
    let text = serde_json::to_string_pretty(&snapshot)
        .map_err(|e| Fatal::new(format!("cannot encode the snapshot: {e}"), ""))?;
    if args.output.as_os_str() == "-" {
        writeln!(out, "{text}")?;
    } else {
        std::fs::write(&args.output, format!("{text}\n")).map_err(|e| {
            Fatal::new(
                format!(
                    "cannot write {}: {}",
                    args.output.display(),
                    crate::error::io_reason(&e)
                ),
                "choose a writable path, or `-o -` for stdout",
            )
        })?;
        eprintln!(
            "saved snapshot of {} ({} gaps) to {}",
            crate::report::text::neutralise(snapshot.context.as_deref().unwrap_or("in-cluster")),
            snapshot.gaps.len(),
            args.output.display()
        );
    }
    Ok(ExitStatus::Ok)
}
